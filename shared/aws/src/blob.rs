//! The blob store port on S3.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::operation::abort_multipart_upload::AbortMultipartUploadError;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use kefu_ports::blob::validate_key;
use kefu_ports::{BlobError, BlobStore, PresignedPut};

use crate::error::describe;

/// One S3 bucket (archives and exports) behind the [`BlobStore`] port.
#[derive(Debug, Clone)]
pub struct S3Blobs {
    client: crate::LazyClient<Client>,
    bucket: String,
}

impl S3Blobs {
    /// The adapter for `bucket`. Against an emulator the client should use path-style addressing
    /// ([`crate::AwsAdapters`] arranges that).
    pub fn new(client: impl Into<crate::LazyClient<Client>>, bucket: impl Into<String>) -> Self {
        Self { client: client.into(), bucket: bucket.into() }
    }

    /// The bucket's name, for logs and links.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

fn unavailable(what: &str, msg: String) -> BlobError {
    tracing::warn!(error = %msg, "s3 {what} failed");
    BlobError::Unavailable(msg)
}

#[async_trait]
impl BlobStore for S3Blobs {
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        self.client
            .get()
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| unavailable("put", describe(&e)))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        validate_key(key)?;
        let out = match self.client.get().get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => out,
            Err(e) if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => return Ok(None),
            Err(e) => return Err(unavailable("get", describe(&e))),
        };
        let body = out.body.collect().await.map_err(|e| unavailable("get", e.to_string()))?;
        Ok(Some(body.into_bytes()))
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        self.client
            .get()
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| unavailable("delete", describe(&e)))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .get()
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| unavailable("list", describe(&e)))?;
            keys.extend(out.contents.unwrap_or_default().into_iter().filter_map(|o| o.key));
            match out.next_continuation_token {
                Some(next) if out.is_truncated == Some(true) => token = Some(next),
                _ => break,
            }
        }
        // S3 lists in UTF-8 byte order already; sorting keeps the port's promise against any emulator.
        keys.sort();
        Ok(keys)
    }

    async fn start_upload(&self, key: &str, content_type: &str) -> Result<String, BlobError> {
        validate_key(key)?;
        let out = self
            .client
            .get()
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| unavailable("create_multipart_upload", describe(&e)))?;
        out.upload_id.ok_or_else(|| unavailable("create_multipart_upload", "no upload id".into()))
    }

    async fn upload_part(&self, key: &str, upload_id: &str, number: u32, body: Bytes) -> Result<String, BlobError> {
        validate_key(key)?;
        let number = i32::try_from(number).map_err(|_| BlobError::InvalidKey(format!("part {number}")))?;
        let out = self
            .client
            .get()
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| unavailable("upload_part", describe(&e)))?;
        out.e_tag.ok_or_else(|| unavailable("upload_part", "no ETag".into()))
    }

    async fn complete_upload(&self, key: &str, upload_id: &str, parts: &[String]) -> Result<(), BlobError> {
        validate_key(key)?;
        let completed = parts
            .iter()
            .zip(1i32..)
            .map(|(tag, n)| CompletedPart::builder().e_tag(tag).part_number(n).build())
            .collect();
        self.client
            .get()
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(completed)).build())
            .send()
            .await
            .map_err(|e| unavailable("complete_multipart_upload", describe(&e)))?;
        Ok(())
    }

    async fn abort_upload(&self, key: &str, upload_id: &str) -> Result<(), BlobError> {
        validate_key(key)?;
        match self.client.get().abort_multipart_upload().bucket(&self.bucket).key(key).upload_id(upload_id).send().await
        {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.as_service_error(), Some(AbortMultipartUploadError::NoSuchUpload(_))) => Ok(()),
            Err(e) => Err(unavailable("abort_multipart_upload", describe(&e))),
        }
    }

    async fn presign_get(&self, key: &str, expires_in: std::time::Duration) -> Result<Option<String>, BlobError> {
        validate_key(key)?;
        let config = PresigningConfig::expires_in(expires_in).map_err(|e| unavailable("presign", e.to_string()))?;
        let req = self
            .client
            .get()
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| unavailable("presign", describe(&e)))?;
        Ok(Some(req.uri().to_owned()))
    }

    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_in: std::time::Duration,
    ) -> Result<Option<PresignedPut>, BlobError> {
        validate_key(key)?;
        let length = i64::try_from(size).map_err(|_| BlobError::InvalidKey(format!("size {size}")))?;
        let config = PresigningConfig::expires_in(expires_in).map_err(|e| unavailable("presign", e.to_string()))?;
        let req = self
            .client
            .get()
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .content_length(length)
            .presigned(config)
            .await
            .map_err(|e| unavailable("presign", describe(&e)))?;
        // The browser sets `content-length` itself (it may not set it by hand); the signature still covers it,
        // so S3 refuses a body of another size.
        let headers = req
            .headers()
            .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        Ok(Some(PresignedPut { url: req.uri().to_owned(), headers }))
    }
}
