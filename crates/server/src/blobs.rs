//! Where uploaded bytes live: under the data directory (`blobs/ab/abcdef…`),
//! or in an S3-compatible object store (`blob_store = "s3://bucket/prefix"`)
//! so that several nodes need no shared filesystem. Blobs are named by
//! their SHA-256 and never change, so a write that finds one there already
//! is done, and any node can serve any blob.

use std::sync::Arc;

use anyhow::Context;
use axum::body::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, PutPayload};
use qiao_domain::message::BlobHash;

use crate::config::Config;

#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
}

impl Blobs {
    /// The data directory's blobs, or the object store `blob_store` names,
    /// its endpoint, region and credentials from `blob_store_options` (the
    /// keys `endpoint`, `region`, `access_key_id`, `secret_access_key`,
    /// `allow_http`, …) over the usual `AWS_*` variables.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let store: Arc<dyn ObjectStore> = match &config.blob_store {
            None => {
                let dir = config.blob_dir();
                std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                Arc::new(
                    object_store::local::LocalFileSystem::new_with_prefix(&dir)
                        .with_context(|| format!("blobs in {}", dir.display()))?,
                )
            }
            Some(url) => {
                let (bucket_url, prefix) = match url.strip_prefix("s3://").and_then(|rest| rest.split_once('/')) {
                    Some((bucket, prefix)) => (format!("s3://{bucket}"), prefix.trim_matches('/').to_owned()),
                    None => (url.clone(), String::new()),
                };
                let mut builder = object_store::aws::AmazonS3Builder::from_env().with_url(&bucket_url);
                for (key, value) in &config.blob_store_options {
                    let key: object_store::aws::AmazonS3ConfigKey =
                        key.parse().with_context(|| format!("blob_store_options: {key}"))?;
                    builder = builder.with_config(key, value);
                }
                let s3 = builder.build().with_context(|| format!("blob_store {url}"))?;
                if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
                }
            }
        };
        Ok(Self { store })
    }

    /// `ab/abcdef…`: the same layout on disk and in a bucket.
    fn path(hash: &BlobHash) -> Path {
        Path::from(format!("{}/{}", &hash.as_str()[..2], hash.as_str()))
    }

    /// Stores `bytes` under their hash, unless they are there already.
    pub async fn put(&self, hash: &BlobHash, bytes: Bytes) -> object_store::Result<()> {
        let path = Self::path(hash);
        match self.store.head(&path).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => {
                self.store.put(&path, PutPayload::from(bytes)).await.map(|_| ())
            }
            Err(e) => Err(e),
        }
    }

    /// The blob's bytes; `None` if there is no such blob.
    pub async fn get(&self, hash: &BlobHash) -> object_store::Result<Option<Bytes>> {
        match self.store.get(&Self::path(hash)).await {
            Ok(found) => found.bytes().await.map(Some),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
