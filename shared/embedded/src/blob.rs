//! The blob store port on a local directory.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use kefu_ports::blob::{BlobError, BlobStore, PresignedPut, validate_key};

/// Blobs as files under a root directory; keys are relative paths.
pub struct LocalBlobs {
    root: PathBuf,
}

fn io(e: std::io::Error) -> BlobError {
    BlobError::Unavailable(e.to_string())
}

impl LocalBlobs {
    /// Blobs under `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        validate_key(key)?;
        Ok(self.root.join(key))
    }
}

/// A part of an upload in progress: a `.partial` file beside the object (never listed), named by the upload and
/// the part's number.
fn part_path(object: &Path, upload_id: &str, number: u32) -> PathBuf {
    let mut name = object.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".{upload_id}.{number:06}.partial"));
    object.with_file_name(name)
}

fn check_upload_id(upload_id: &str) -> Result<(), BlobError> {
    if ulid::Ulid::from_string(upload_id).is_ok() {
        Ok(())
    } else {
        Err(BlobError::InvalidKey(format!("upload id {upload_id}")))
    }
}

fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            walk(&path, root, out)?;
        } else if let Ok(rel) = path.strip_prefix(root)
            && path.extension().is_none_or(|e| e != "partial")
        {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn put(&self, key: &str, body: Bytes, _content_type: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension(format!("{}.partial", ulid::Ulid::new()));
            std::fs::write(&tmp, &body)?;
            std::fs::rename(&tmp, &path)
        })
        .await
        .expect("blob task")
        .map_err(io)
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        let path = self.path(key)?;
        match tokio::fs::read(&path).await {
            Ok(b) => Ok(Some(Bytes::from(b))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError> {
        let root = self.root.clone();
        let prefix = prefix.to_owned();
        tokio::task::spawn_blocking(move || -> std::io::Result<Vec<String>> {
            let mut all = Vec::new();
            walk(&root, &root, &mut all)?;
            all.retain(|k| k.starts_with(&prefix));
            all.sort();
            Ok(all)
        })
        .await
        .expect("blob task")
        .map_err(io)
    }

    async fn start_upload(&self, key: &str, _content_type: &str) -> Result<String, BlobError> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        Ok(ulid::Ulid::new().to_string())
    }

    async fn upload_part(&self, key: &str, upload_id: &str, number: u32, body: Bytes) -> Result<String, BlobError> {
        check_upload_id(upload_id)?;
        let path = part_path(&self.path(key)?, upload_id, number);
        tokio::fs::write(&path, &body).await.map_err(io)?;
        Ok(number.to_string())
    }

    async fn complete_upload(&self, key: &str, upload_id: &str, parts: &[String]) -> Result<(), BlobError> {
        check_upload_id(upload_id)?;
        let path = self.path(key)?;
        let numbers = parts
            .iter()
            .map(|p| p.parse::<u32>().map_err(|_| BlobError::InvalidKey(format!("part tag {p}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let upload_id = upload_id.to_owned();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            // The parts are copied one after the other into a temporary file (a part at a time in memory), which
            // then replaces the object at once.
            let tmp = path.with_extension(format!("{}.partial", ulid::Ulid::new()));
            let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            for n in &numbers {
                let mut part = std::fs::File::open(part_path(&path, &upload_id, *n))?;
                std::io::copy(&mut part, &mut out)?;
            }
            std::io::Write::flush(&mut out)?;
            drop(out);
            std::fs::rename(&tmp, &path)?;
            for n in &numbers {
                let _ = std::fs::remove_file(part_path(&path, &upload_id, *n));
            }
            Ok(())
        })
        .await
        .expect("blob task")
        .map_err(io)
    }

    async fn abort_upload(&self, key: &str, upload_id: &str) -> Result<(), BlobError> {
        check_upload_id(upload_id)?;
        let path = self.path(key)?;
        let upload_id = upload_id.to_owned();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let Some(dir) = path.parent() else { return Ok(()) };
            let mut prefix = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
            prefix.push(format!(".{upload_id}."));
            let prefix = prefix.to_string_lossy().into_owned();
            let entries = match std::fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            };
            for entry in entries {
                let entry = entry?;
                if entry.file_name().to_string_lossy().starts_with(&prefix) {
                    std::fs::remove_file(entry.path())?;
                }
            }
            Ok(())
        })
        .await
        .expect("blob task")
        .map_err(io)
    }

    async fn presign_get(&self, key: &str, _expires_in: std::time::Duration) -> Result<Option<String>, BlobError> {
        self.path(key)?;
        Ok(None)
    }

    async fn presign_put(
        &self,
        key: &str,
        _content_type: &str,
        _size: u64,
        _expires_in: std::time::Duration,
    ) -> Result<Option<PresignedPut>, BlobError> {
        self.path(key)?;
        Ok(None)
    }
}
