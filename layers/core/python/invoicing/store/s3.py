"""The blob store on the documents bucket (S3)."""

from __future__ import annotations

import os
from typing import Any

DOCUMENTS_BUCKET_ENV = "DOCUMENTS_BUCKET"  # infra/wiring.py names it for the stack


class S3Blobs:
    def __init__(self, client: Any = None, bucket: str | None = None) -> None:
        self._client = client
        self._bucket = bucket

    @property
    def bucket(self) -> str:
        return self._bucket or os.environ[DOCUMENTS_BUCKET_ENV]

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            # SigV4 and virtual-host addressing only where AWS wants it: the
            # emulation answers path-style URLs.
            style = "path" if os.environ.get("AWS_ENDPOINT_URL") else "auto"
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

    def put(self, key: str, data: bytes, content_type: str, *, if_absent: bool = False) -> bool:
        client = self.client
        options = {"IfNoneMatch": "*"} if if_absent else {}
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

    def download_url(self, key: str, filename: str, expires_s: int) -> str:
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": f'inline; filename="{filename}"',
                "ResponseContentType": "application/pdf",
            },
            ExpiresIn=expires_s,
        )
        return url
