//! `qiao admin backup`: a copy of a deployment that can be restored. The
//! database first (SQLite: one consistent snapshot, taken while the server
//! runs; PostgreSQL: `pg_dump`), then the uploaded blobs. Blobs are named by
//! their SHA-256 and never change, so copying them after the database means
//! every blob the copy names is there.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// Backs up the deployment at `data_dir` (SQLite and blobs) or `database`
/// (PostgreSQL, with blobs from `data_dir` if given) into the new or empty
/// directory `to`.
pub async fn backup(data_dir: Option<PathBuf>, database: Option<String>, to: PathBuf) -> anyhow::Result<()> {
    if to.exists() && std::fs::read_dir(&to)?.next().is_some() {
        bail!(
            "{} is not empty; a backup goes into a new or empty directory",
            to.display()
        );
    }
    std::fs::create_dir_all(&to).with_context(|| format!("creating {}", to.display()))?;
    match (&database, &data_dir) {
        (Some(url), _) => {
            let file = to.join("qiao.pgdump");
            let status = tokio::process::Command::new("pg_dump")
                .args(["--format=custom", "--file"])
                .arg(&file)
                .arg(url)
                .status()
                .await
                .context("running pg_dump (is it on PATH?)")?;
            if !status.success() {
                bail!("pg_dump failed ({status})");
            }
            println!(
                "database: {} ({} bytes)",
                file.display(),
                std::fs::metadata(&file)?.len()
            );
        }
        (None, Some(dir)) => {
            let source = qiao_server::Config {
                data_dir: dir.clone(),
                ..Default::default()
            }
            .sqlite_path();
            let file = to.join("qiao.db");
            let target = file.clone();
            tokio::task::spawn_blocking(move || qiao_store::sqlite::SqliteConn::backup(&source, &target)).await??;
            println!(
                "database: {} ({} bytes)",
                file.display(),
                std::fs::metadata(&file)?.len()
            );
        }
        (None, None) => bail!("give --data-dir or --database"),
    }
    if let Some(dir) = data_dir {
        let blobs = qiao_server::Config {
            data_dir: dir,
            ..Default::default()
        }
        .blob_dir();
        let copied = tokio::task::spawn_blocking(move || copy_tree(&blobs, &to.join("blobs"))).await??;
        println!("blobs: {copied} files");
    }
    Ok(())
}

/// Copies the files under `from` to `to`, keeping the layout; how many.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<u64> {
    if !from.exists() {
        return Ok(0);
    }
    std::fs::create_dir_all(to)?;
    let mut copied = 0;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copied += copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).with_context(|| format!("copying {}", entry.path().display()))?;
            copied += 1;
        }
    }
    Ok(copied)
}
