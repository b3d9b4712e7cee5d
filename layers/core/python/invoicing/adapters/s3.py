"""The blob store on the documents bucket (S3): PDFs and attachments."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import quote

from invoicing.ports import BlobStat, MissingBlob
from invoicing.settings import settings


def content_disposition(kind: str, filename: str) -> str:
    """An ASCII `filename` for old clients, the exact one as RFC 6266's
    `filename*` (UTF-8, percent-encoded): "Devis été.pdf" survives."""
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", filename) or "file"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _raise_missing(error: Any, key: str) -> None:
    if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound", "NoSuchVersion"):
        raise MissingBlob(key) from None


class S3Blobs:
    def __init__(self, client: Any = None, bucket: str | None = None) -> None:
        self._client = client
        self._bucket = bucket

    @property
    def bucket(self) -> str:
        return self._bucket or settings().require("documents_bucket")

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # SigV4 and virtual-host addressing only where AWS wants it: the
            # emulation answers path-style URLs.
            style = "path" if settings().emulated else "auto"
            self._client = boto3.client("s3", config=Config(signature_version="s3v4", s3={"addressing_style": style}))
        return self._client

    def exists(self, key: str) -> bool:
        client = self.client
        try:
            client.head_object(Bucket=self.bucket, Key=key)
        except client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def put(
        self, key: str, data: bytes, content_type: str, *, if_absent: bool = False, retain_until: date | None = None
    ) -> bool:
        client = self.client
        options: dict[str, Any] = {"IfNoneMatch": "*"} if if_absent else {}
        if retain_until is not None:  # S3 refuses a locked PUT without a checksum
            options.update(
                ObjectLockMode="GOVERNANCE",
                ObjectLockRetainUntilDate=datetime.combine(retain_until, time.min, UTC),
                ChecksumAlgorithm="SHA256",
            )
        try:
            client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, **options)
        except client.exceptions.ClientError as error:
            # 412: the key exists; 409: a concurrent conditional write to it is in progress.
            if if_absent and error.response.get("Error", {}).get("Code") in (
                "PreconditionFailed",
                "ConditionalRequestConflict",
            ):
                return False
            raise
        return True

    def stat(self, key: str) -> BlobStat | None:
        client = self.client
        try:
            head = client.head_object(Bucket=self.bucket, Key=key)
        except client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return BlobStat(int(head["ContentLength"]), head.get("VersionId"))

    def read(self, key: str) -> bytes:
        client = self.client
        try:
            body = client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except client.exceptions.ClientError as error:
            _raise_missing(error, key)
            raise
        data: bytes = body.read()
        return data

    def head_bytes(self, key: str, count: int, version: str | None = None) -> bytes:
        client = self.client
        pinned = {"VersionId": version} if version else {}
        try:
            body = client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{count - 1}", **pinned)["Body"]
        except client.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") == "InvalidRange":
                return b""  # an empty object has no byte 0
            _raise_missing(error, key)
            raise
        data: bytes = body.read()
        return data[:count]

    def copy(self, source: str, target: str, content_type: str, version: str | None = None) -> None:
        client = self.client
        copy_source = {"Bucket": self.bucket, "Key": source, **({"VersionId": version} if version else {})}
        try:
            client.copy_object(
                Bucket=self.bucket,
                Key=target,
                CopySource=copy_source,
                ContentType=content_type,
                MetadataDirective="REPLACE",
            )
        except client.exceptions.ClientError as error:
            _raise_missing(error, source)
            raise

    def list_keys(self, prefix: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def upload_form(self, key: str, content_type: str, max_bytes: int, expires_s: int) -> dict[str, Any]:
        form: dict[str, Any] = self.client.generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
            ExpiresIn=expires_s,
        )
        return {"url": form["url"], "fields": form["fields"]}

    def download_url(
        self, key: str, filename: str, expires_s: int, content_type: str = "application/pdf", inline: bool = True
    ) -> str:
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": content_disposition("inline" if inline else "attachment", filename),
                "ResponseContentType": content_type,
            },
            ExpiresIn=expires_s,
        )
        return url
