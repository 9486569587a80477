//! The file-system backends of the transfer traits, confined by
//! [`super::sandbox`]: [`DiskSource`] reads a download's files,
//! [`DiskSink`] writes a transfer into a folder; [`plan_download`] builds
//! the manifest of a file or a folder, [`list`] lists a folder.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;

use tandem_wire::channels::remote_files::{
    EntryKind, EntryName, ItemKind, MAX_MANIFEST_ENTRIES, ManifestEntry, RelativePath, RemotePath,
    TransferErrorCode,
};

use super::sandbox::{Listing, Roots, SandboxError, SandboxedDir, SandboxedPath};
use super::transfer::{AccessError, FileSink, FileSource, Manifest, SourceMeta};

/// Lists the folder at `remote`.
pub fn list(roots: &Roots, remote: &RemotePath) -> Result<Listing, SandboxError> {
    roots.path(remote)?.open_dir()?.list()
}

/// What a download sends, and where it reads it.
#[derive(Debug)]
pub struct DownloadPlan {
    pub manifest: Manifest,
    /// Links, devices, FIFOs, sockets and unlisted names left out of a folder.
    pub skipped: u32,
    pub source: DiskSource,
}

/// The manifest of the file or folder at `remote`: a file is one entry named
/// like it; a folder is itself, then everything below it, each folder before
/// its contents. Links are not followed inside a folder (they are skipped and
/// counted). More than `max_total_bytes` or [`MAX_MANIFEST_ENTRIES`] entries: `too_large`.
pub fn plan_download(
    roots: &Roots,
    remote: &RemotePath,
    max_total_bytes: u64,
) -> Result<DownloadPlan, AccessError> {
    let item = roots.path(remote)?;
    let meta = item.metadata()?;
    let top = RelativePath::root().join(&item.name()).map_err(SandboxError::from)?;
    match meta.kind {
        EntryKind::File => {
            let entry =
                ManifestEntry { path: top, kind: ItemKind::File, size: meta.size, modified: meta.modified };
            let manifest =
                Manifest::new(vec![entry], max_total_bytes).map_err(|c| AccessError::new(c, "manifest"))?;
            Ok(DownloadPlan { manifest, skipped: 0, source: DiskSource::new(SourceRoot::File(item)) })
        }
        EntryKind::Dir => {
            let dir = item.open_dir()?;
            let (entries, skipped) = walk_folder(&dir, top, max_total_bytes)?;
            let manifest =
                Manifest::new(entries, max_total_bytes).map_err(|c| AccessError::new(c, "manifest"))?;
            Ok(DownloadPlan { manifest, skipped, source: DiskSource::new(SourceRoot::Folder(dir)) })
        }
        _ => Err(SandboxError::UnsupportedKind.into()),
    }
}

fn walk_folder(
    dir: &SandboxedDir,
    top: RelativePath,
    max_total_bytes: u64,
) -> Result<(Vec<ManifestEntry>, u32), AccessError> {
    let too_large = || AccessError::new(TransferErrorCode::TooLarge, "folder too large");
    let mut entries = vec![ManifestEntry { path: top.clone(), kind: ItemKind::Dir, size: 0, modified: None }];
    let mut skipped: u32 = 0;
    let mut total: u64 = 0;
    // Folders to list, relative to `dir`; each one's entry is already in `entries`.
    let mut pending = vec![RelativePath::root()];
    while let Some(rel) = pending.pop() {
        let listing = dir.open_subdir(&rel)?.list()?;
        skipped = skipped.saturating_add(listing.unlisted);
        for child in listing.entries {
            let (kind, size) = match child.kind {
                EntryKind::File => (ItemKind::File, child.size),
                EntryKind::Dir => (ItemKind::Dir, 0),
                _ => {
                    skipped = skipped.saturating_add(1);
                    continue;
                }
            };
            let joined = rel.join(&child.name).and_then(|below| Ok((below.under(&top)?, below)));
            let Ok((path, below)) = joined else {
                // Deeper than a path may be.
                skipped = skipped.saturating_add(1);
                continue;
            };
            total = total.checked_add(size).ok_or_else(too_large)?;
            if total > max_total_bytes || entries.len() >= MAX_MANIFEST_ENTRIES {
                return Err(too_large());
            }
            entries.push(ManifestEntry { path, kind, size, modified: child.modified });
            if kind == ItemKind::Dir {
                pending.push(below);
            }
        }
    }
    Ok((entries, skipped))
}

/// Where a download's bytes come from.
#[derive(Debug)]
enum SourceRoot {
    /// A single file, opened (confined) again for each `open`.
    File(SandboxedPath),
    /// The downloaded folder; manifest paths are below its name.
    Folder(SandboxedDir),
}

/// Reads a download's files, each opened confined when its turn comes.
#[derive(Debug)]
pub struct DiskSource {
    root: SourceRoot,
    open: Option<(u32, File)>,
}

impl DiskSource {
    fn new(root: SourceRoot) -> Self {
        Self { root, open: None }
    }
}

impl FileSource for DiskSource {
    fn open(&mut self, index: u32, entry: &ManifestEntry) -> Result<SourceMeta, AccessError> {
        self.open = None;
        let opened = match &self.root {
            SourceRoot::File(path) => path.open_file()?,
            SourceRoot::Folder(dir) => dir.open_file(&below_top(&entry.path))?,
        };
        let meta = SourceMeta { size: opened.meta.size, modified: opened.meta.modified };
        self.open = Some((index, opened.file));
        Ok(meta)
    }

    fn read_at(&mut self, index: u32, offset: u64, buf: &mut [u8]) -> Result<usize, AccessError> {
        match &self.open {
            Some((open, file)) if *open == index => file
                .read_at(buf, offset)
                .map_err(|e| AccessError::new(TransferErrorCode::ReadFailed, e.to_string())),
            _ => Err(AccessError::new(TransferErrorCode::ReadFailed, "not open")),
        }
    }
}

/// `top/a/b` → `a/b`.
fn below_top(path: &RelativePath) -> RelativePath {
    let rest: Vec<&str> = path.components().skip(1).collect();
    // Components of a valid path make a valid, shorter path.
    RelativePath::parse(rest.join("/")).unwrap_or_default()
}

/// A file being received: its temporary file in the folder it will land in.
struct Temp {
    dir: SandboxedDir,
    name: EntryName,
    file: File,
}

/// Writes a transfer into a folder. Temporary files are created beside
/// their final place and removed on discard, on failure and when the sink is dropped.
pub struct DiskSink {
    folder: SandboxedDir,
    temps: HashMap<u32, Temp>,
}

impl DiskSink {
    /// Writes below `folder` (for an upload: the folder the CSR chose, below a granted root).
    pub fn new(folder: SandboxedDir) -> Self {
        Self { folder, temps: HashMap::new() }
    }
}

impl std::fmt::Debug for DiskSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiskSink").field("temps", &self.temps.len()).finish()
    }
}

fn write_failed(e: std::io::Error) -> AccessError {
    AccessError::new(TransferErrorCode::WriteFailed, e.to_string())
}

impl FileSink for DiskSink {
    fn existing(&mut self, path: &RelativePath) -> Result<Option<EntryKind>, AccessError> {
        Ok(self.folder.meta_of(path)?.map(|m| m.kind))
    }

    fn create_dir(&mut self, path: &RelativePath) -> Result<(), AccessError> {
        let dir = self.folder.create_subdirs(path)?;
        drop(dir);
        Ok(())
    }

    fn begin(&mut self, index: u32, path: &RelativePath) -> Result<(), AccessError> {
        self.discard(index);
        let parent = path.parent().unwrap_or_default();
        let dir = self.folder.open_subdir(&parent)?;
        let (name, file) = dir.create_temp()?;
        self.temps.insert(index, Temp { dir, name, file });
        Ok(())
    }

    fn write_at(&mut self, index: u32, offset: u64, bytes: &[u8]) -> Result<(), AccessError> {
        let temp = self
            .temps
            .get(&index)
            .ok_or_else(|| AccessError::new(TransferErrorCode::WriteFailed, "no file"))?;
        temp.file.write_all_at(bytes, offset).map_err(write_failed)
    }

    fn commit(&mut self, index: u32, path: &RelativePath, overwrite: bool) -> Result<(), AccessError> {
        let temp = self
            .temps
            .remove(&index)
            .ok_or_else(|| AccessError::new(TransferErrorCode::WriteFailed, "no file"))?;
        let name =
            path.file_name().ok_or_else(|| AccessError::new(TransferErrorCode::BadMessage, "no name"))?;
        let placed = temp.file.sync_data().map_err(write_failed).and_then(|()| {
            temp.dir.rename_into_place(&temp.name, &name, overwrite).map_err(AccessError::from)
        });
        if placed.is_err() {
            let _ = temp.dir.remove(&temp.name);
        }
        placed
    }

    fn discard(&mut self, index: u32) {
        if let Some(temp) = self.temps.remove(&index) {
            let _ = temp.dir.remove(&temp.name);
        }
    }
}

impl Drop for DiskSink {
    fn drop(&mut self) {
        for (_, temp) in self.temps.drain() {
            let _ = temp.dir.remove(&temp.name);
        }
    }
}

#[cfg(test)]
#[path = "disk_tests.rs"]
mod tests;
