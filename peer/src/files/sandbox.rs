//! Path confinement (TOOL-5): every file the CSR reaches is below one of the
//! folders the customer granted, and every byte read or written goes through
//! a file descriptor opened there.
//!
//! Parse, don't validate: a [`RemotePath`] from the wire is already a
//! [`RelativePath`] (no `..`, no absolute path, no NUL, no backslash, no
//! drive letter, bounded lengths); [`Roots::path`] turns it into a
//! [`SandboxedPath`], which exists only for a granted root. The file system
//! is then confined at *open time*, never by checking a path string first
//! and opening it later, so a symbolic link swapped in between changes
//! nothing:
//!
//! - Every granted root is held open as a directory descriptor; paths are
//!   resolved relative to it, never from `/`.
//! - [`Resolver::Beneath`] (Linux 5.6+) resolves with
//!   `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`: the kernel follows
//!   symbolic links that stay below the root and refuses, atomically, any
//!   that would leave it (absolute targets, `..` above the root, `/proc`
//!   magic links).
//! - [`Resolver::NoFollow`] (the fallback where `openat2` is missing or
//!   filtered) opens every component with `O_NOFOLLOW`: no symbolic link is
//!   followed at all.
//! - Files are probed with `O_PATH` first (which opens nothing: no FIFO
//!   blocks, no device wakes), refused unless regular, then opened and
//!   compared by device and inode with the probe.
//! - Writes ([`SandboxedDir`]) happen relative to an open directory: temporary
//!   files with `O_CREAT | O_EXCL | O_NOFOLLOW`, renamed into place with
//!   `renameat2(RENAME_NOREPLACE)` unless overwriting was allowed, folders
//!   walked with `O_NOFOLLOW`. A folder replaced by a link while a file is
//!   being written keeps receiving it where it was; nothing lands outside.
//!   See `man 2 openat2` and `man 2 rename`.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, RenameFlags, ResolveFlags};
use rustix::io::Errno;
use tandem_wire::channels::remote_files::{
    DirEntry, EntryKind, EntryName, MAX_ROOTS, PathError, RelativePath, RemotePath, Root, RootId, RootLabel,
    RootList, TransferErrorCode,
};

/// Most entries one listing returns; the rest are counted as unlisted.
pub const MAX_LISTED_ENTRIES: usize = 20_000;

/// Why a path was refused or a file operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    #[error("no granted folder {0:?}")]
    UnknownRoot(RootId),
    #[error("refused path: {0}")]
    Path(#[from] PathError),
    #[error("a symbolic link on the way leads outside the granted folders (or is not followed here)")]
    Symlink,
    #[error("not found")]
    NotFound,
    #[error("not a folder")]
    NotADirectory,
    #[error("not a regular file (a folder, device, FIFO or socket)")]
    UnsupportedKind,
    #[error("already exists")]
    Exists,
    #[error("replaced while it was being opened")]
    Swapped,
    #[error("at most {MAX_ROOTS} folders can be granted")]
    TooManyRoots,
    #[error("file system: {0}")]
    Io(#[source] std::io::Error),
}

impl SandboxError {
    /// The wire's code for this failure.
    pub fn code(&self) -> TransferErrorCode {
        match self {
            Self::UnknownRoot(_) | Self::Path(_) | Self::Symlink | Self::Swapped => {
                TransferErrorCode::OutsideRoots
            }
            Self::NotFound => TransferErrorCode::NotFound,
            Self::NotADirectory => TransferErrorCode::NotADirectory,
            Self::UnsupportedKind => TransferErrorCode::UnsupportedKind,
            Self::Exists => TransferErrorCode::Exists,
            Self::TooManyRoots | Self::Io(_) => TransferErrorCode::Other,
        }
    }
}

fn from_errno(e: Errno) -> SandboxError {
    match e {
        Errno::NOENT => SandboxError::NotFound,
        // ELOOP: O_NOFOLLOW met a link (or links loop); EXDEV: RESOLVE_BENEATH refused an escape.
        Errno::LOOP | Errno::XDEV => SandboxError::Symlink,
        Errno::NOTDIR => SandboxError::NotADirectory,
        Errno::EXIST | Errno::NOTEMPTY | Errno::ISDIR => SandboxError::Exists,
        other => SandboxError::Io(other.into()),
    }
}

/// How paths below a root are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolver {
    /// `openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)`: links that stay below the root are followed.
    Beneath,
    /// `O_NOFOLLOW` on every component: no link is followed.
    NoFollow,
}

impl Resolver {
    /// [`Resolver::Beneath`] when this kernel lets us use `openat2`, else [`Resolver::NoFollow`].
    pub fn detect() -> Self {
        let probe = rfs::open("/", OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .and_then(|root| {
                rfs::openat2(
                    &root,
                    ".",
                    OFlags::PATH | OFlags::CLOEXEC,
                    Mode::empty(),
                    ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
                )
            });
        if probe.is_ok() { Self::Beneath } else { Self::NoFollow }
    }
}

/// What a directory entry or an opened file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub kind: EntryKind,
    pub size: u64,
    /// Unix milliseconds.
    pub modified: Option<i64>,
    dev: u64,
    ino: u64,
}

impl Meta {
    #[allow(clippy::unnecessary_cast, reason = "the field types of `stat` differ between architectures")]
    fn of(st: &rfs::Stat) -> Self {
        let kind = match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile => EntryKind::File,
            FileType::Directory => EntryKind::Dir,
            FileType::Symlink => EntryKind::Symlink,
            _ => EntryKind::Other,
        };
        let modified = (st.st_mtime as i64)
            .checked_mul(1000)
            .and_then(|ms| ms.checked_add(st.st_mtime_nsec as i64 / 1_000_000));
        Self {
            kind,
            size: u64::try_from(st.st_size as i64).unwrap_or(0),
            modified,
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        }
    }
}

/// A regular file opened for reading below a root, with what it was when opened.
#[derive(Debug)]
pub struct OpenedFile {
    pub file: File,
    pub meta: Meta,
}

/// One granted folder.
struct GrantedRoot {
    label: RootLabel,
    /// The name a download of the root itself takes.
    top_name: EntryName,
    dir: Arc<OwnedFd>,
}

/// The folders the customer granted, each held open.
pub struct Roots {
    roots: Vec<GrantedRoot>,
    resolver: Resolver,
}

impl std::fmt::Debug for Roots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Roots")
            .field("labels", &self.roots.iter().map(|r| r.label.as_str()).collect::<Vec<_>>())
            .field("resolver", &self.resolver)
            .finish()
    }
}

impl Roots {
    /// Opens each folder (following links in the folder's own path: the
    /// customer chose it). Its position in `folders` is its [`RootId`].
    pub fn grant(folders: &[PathBuf], resolver: Resolver) -> Result<Self, SandboxError> {
        if folders.len() > MAX_ROOTS {
            return Err(SandboxError::TooManyRoots);
        }
        let mut roots = Vec::with_capacity(folders.len());
        for (i, folder) in folders.iter().enumerate() {
            let dir = rfs::open(folder, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
                .map_err(from_errno)?;
            roots.push(GrantedRoot {
                label: label_for(folder, i),
                top_name: folder
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| EntryName::parse(n).ok())
                    .unwrap_or_else(|| EntryName::parse(format!("folder-{}", i + 1)).expect("a plain name")),
                dir: Arc::new(dir),
            });
        }
        Ok(Self { roots, resolver })
    }

    /// The roots as the CSR sees them.
    pub fn wire_roots(&self) -> RootList {
        let roots = self
            .roots
            .iter()
            .enumerate()
            .map(|(i, r)| Root { root_id: RootId(i as u32), label: r.label.clone() })
            .collect();
        // `grant` admits at most MAX_ROOTS folders.
        RootList::truncating(roots)
    }

    pub fn resolver(&self) -> Resolver {
        self.resolver
    }

    /// The path below its root; fails only for a root that was not granted.
    pub fn path(&self, remote: &RemotePath) -> Result<SandboxedPath, SandboxError> {
        let root = self.roots.get(remote.root.0 as usize).ok_or(SandboxError::UnknownRoot(remote.root))?;
        Ok(SandboxedPath {
            root: Arc::clone(&root.dir),
            resolver: self.resolver,
            path: remote.path.clone(),
            top_name: root.top_name.clone(),
        })
    }
}

fn label_for(folder: &Path, i: usize) -> RootLabel {
    let shown: String =
        folder.to_string_lossy().chars().filter(|c| !c.is_control()).take(RootLabel::MAX_CHARS).collect();
    RootLabel::parse(shown)
        .unwrap_or_else(|_| RootLabel::parse(format!("Folder {}", i + 1)).expect("a plain label"))
}

/// Something below a granted root. Opening it resolves it again, confined.
#[derive(Clone)]
pub struct SandboxedPath {
    root: Arc<OwnedFd>,
    resolver: Resolver,
    path: RelativePath,
    top_name: EntryName,
}

impl std::fmt::Debug for SandboxedPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SandboxedPath({:?}, {:?})", self.path.as_str(), self.resolver)
    }
}

impl SandboxedPath {
    /// The path relative to its root.
    pub fn relative(&self) -> &RelativePath {
        &self.path
    }

    /// The last name, or the root folder's own name for the root.
    pub fn name(&self) -> EntryName {
        self.path.file_name().unwrap_or_else(|| self.top_name.clone())
    }

    /// What is there (links below the root followed with [`Resolver::Beneath`]).
    pub fn metadata(&self) -> Result<Meta, SandboxError> {
        let probe = self.open_with(OFlags::PATH)?;
        let meta = Meta::of(&rfs::fstat(&probe).map_err(from_errno)?);
        if meta.kind == EntryKind::Symlink {
            return Err(SandboxError::Symlink);
        }
        Ok(meta)
    }

    /// Opens the folder.
    pub fn open_dir(&self) -> Result<SandboxedDir, SandboxError> {
        let fd = self.open_with(OFlags::RDONLY | OFlags::DIRECTORY)?;
        Ok(SandboxedDir { fd })
    }

    /// Opens a regular file for reading; anything else is refused before it is opened.
    pub fn open_file(&self) -> Result<OpenedFile, SandboxError> {
        let probe = self.open_with(OFlags::PATH)?;
        reopen_regular(&probe, || self.open_with(OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY))
    }

    fn open_with(&self, flags: OFlags) -> Result<OwnedFd, SandboxError> {
        let flags = flags | OFlags::CLOEXEC;
        match self.resolver {
            Resolver::Beneath => {
                let path = if self.path.is_root() { "." } else { self.path.as_str() };
                let how = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
                // EAGAIN: a rename raced with `..` handling; the kernel asks to try again.
                let mut tries = 0;
                loop {
                    match rfs::openat2(&*self.root, path, flags, Mode::empty(), how) {
                        Err(Errno::AGAIN) if tries < 16 => tries += 1,
                        other => return other.map_err(from_errno),
                    }
                }
            }
            Resolver::NoFollow => {
                let components: Vec<&str> = self.path.components().collect();
                let Some((last, parents)) = components.split_last() else {
                    return rfs::openat(&*self.root, ".", flags, Mode::empty()).map_err(from_errno);
                };
                let dir = walk(self.root.as_fd(), parents)?;
                open_nofollow(&dir, last, flags)
            }
        }
    }
}

/// Opens `name` in `dir` without following a link; a link is [`SandboxError::Symlink`].
fn open_nofollow(dir: &OwnedFd, name: &str, flags: OFlags) -> Result<OwnedFd, SandboxError> {
    match rfs::openat(dir, name, flags | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => Ok(fd),
        // With O_DIRECTORY a link may report ENOTDIR rather than ELOOP: look at what it is.
        Err(e @ (Errno::NOTDIR | Errno::LOOP)) => match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => Err(SandboxError::Symlink),
            _ => Err(from_errno(e)),
        },
        Err(e) => Err(from_errno(e)),
    }
}

/// Walks `components` down from `start`, every one a real folder (no link).
fn walk(start: std::os::fd::BorrowedFd<'_>, components: &[&str]) -> Result<OwnedFd, SandboxError> {
    let mut dir =
        rfs::openat(start, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(from_errno)?;
    for name in components {
        dir = open_nofollow(&dir, name, OFlags::RDONLY | OFlags::DIRECTORY)?;
    }
    Ok(dir)
}

/// `probe` (an `O_PATH` descriptor) must be a regular file; `open` opens the
/// same path for reading, which must still be that file.
fn reopen_regular(
    probe: &OwnedFd,
    open: impl FnOnce() -> Result<OwnedFd, SandboxError>,
) -> Result<OpenedFile, SandboxError> {
    let before = Meta::of(&rfs::fstat(probe).map_err(from_errno)?);
    match before.kind {
        EntryKind::File => {}
        EntryKind::Symlink => return Err(SandboxError::Symlink),
        _ => return Err(SandboxError::UnsupportedKind),
    }
    let fd = open()?;
    let meta = Meta::of(&rfs::fstat(&fd).map_err(from_errno)?);
    if meta.kind != EntryKind::File || meta.dev != before.dev || meta.ino != before.ino {
        return Err(SandboxError::Swapped);
    }
    Ok(OpenedFile { file: File::from(fd), meta })
}

/// An open folder below a root. Everything below it is reached with
/// `O_NOFOLLOW` on every component.
#[derive(Debug)]
pub struct SandboxedDir {
    fd: OwnedFd,
}

/// A folder's entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Sorted by name.
    pub entries: Vec<DirEntry>,
    /// Entries that cannot be shown: names that are not UTF-8 or not an
    /// [`EntryName`], and those past [`MAX_LISTED_ENTRIES`].
    pub unlisted: u32,
}

impl SandboxedDir {
    /// The folder's entries (links are listed as links, not followed).
    pub fn list(&self) -> Result<Listing, SandboxError> {
        let mut dir = rfs::Dir::read_from(&self.fd).map_err(from_errno)?;
        let mut entries = Vec::new();
        let mut unlisted: u32 = 0;
        while let Some(entry) = dir.read() {
            let entry = entry.map_err(from_errno)?;
            let raw = entry.file_name().to_bytes();
            if raw == b"." || raw == b".." {
                continue;
            }
            let name = std::str::from_utf8(raw).ok().and_then(|n| EntryName::parse(n).ok());
            let Some(name) = name else {
                unlisted = unlisted.saturating_add(1);
                continue;
            };
            if entries.len() >= MAX_LISTED_ENTRIES {
                unlisted = unlisted.saturating_add(1);
                continue;
            }
            // Gone since readdir: skip it.
            let Ok(st) = rfs::statat(&self.fd, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) else { continue };
            let meta = Meta::of(&st);
            let size = if meta.kind == EntryKind::Dir { 0 } else { meta.size };
            entries.push(DirEntry { name, kind: meta.kind, size, modified: meta.modified });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(Listing { entries, unlisted })
    }

    /// What `rel` below this folder is, without following a link; `None` when nothing is there.
    pub fn meta_of(&self, rel: &RelativePath) -> Result<Option<Meta>, SandboxError> {
        let (parent, name) = match self.parent_of(rel) {
            Ok(found) => found,
            Err(SandboxError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let Some(name) = name else { return Ok(Some(Meta::of(&rfs::fstat(&parent).map_err(from_errno)?))) };
        match rfs::statat(&parent, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => Ok(Some(Meta::of(&st))),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(from_errno(e)),
        }
    }

    /// Opens the folder `rel` below this one.
    pub fn open_subdir(&self, rel: &RelativePath) -> Result<SandboxedDir, SandboxError> {
        let components: Vec<&str> = rel.components().collect();
        Ok(SandboxedDir { fd: walk(self.fd.as_fd(), &components)? })
    }

    /// Opens the folder `rel` below this one, creating what is missing.
    pub fn create_subdirs(&self, rel: &RelativePath) -> Result<SandboxedDir, SandboxError> {
        let mut dir = walk(self.fd.as_fd(), &[])?;
        for name in rel.components() {
            match rfs::mkdirat(&dir, name, Mode::from_raw_mode(0o755)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(e) => return Err(from_errno(e)),
            }
            dir = open_nofollow(&dir, name, OFlags::RDONLY | OFlags::DIRECTORY)?;
        }
        Ok(SandboxedDir { fd: dir })
    }

    /// Opens the regular file `rel` below this folder for reading.
    pub fn open_file(&self, rel: &RelativePath) -> Result<OpenedFile, SandboxError> {
        let (parent, name) = self.parent_of(rel)?;
        let name = name.ok_or(SandboxError::UnsupportedKind)?;
        let probe = open_nofollow(&parent, name.as_str(), OFlags::PATH)?;
        reopen_regular(&probe, || {
            open_nofollow(&parent, name.as_str(), OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY)
        })
    }

    /// Creates a new, empty, private file with a fresh hidden name in this folder.
    pub fn create_temp(&self) -> Result<(EntryName, File), SandboxError> {
        loop {
            let name = EntryName::parse(format!(".tandem-{:016x}.part", rand::random::<u64>()))
                .expect("a plain name");
            let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            match rfs::openat(&self.fd, name.as_str(), flags, Mode::from_raw_mode(0o600)) {
                Ok(fd) => return Ok((name, File::from(fd))),
                Err(Errno::EXIST) => continue,
                Err(e) => return Err(from_errno(e)),
            }
        }
    }

    /// Renames `temp` to `name` in this folder. Without `overwrite`, an
    /// existing `name` (of any kind) is left alone and [`SandboxError::Exists`]
    /// returned; with it, a file or link there is replaced (never written through).
    pub fn rename_into_place(
        &self,
        temp: &EntryName,
        name: &EntryName,
        overwrite: bool,
    ) -> Result<(), SandboxError> {
        if overwrite {
            return rfs::renameat(&self.fd, temp.as_str(), &self.fd, name.as_str()).map_err(from_errno);
        }
        match rfs::renameat_with(&self.fd, temp.as_str(), &self.fd, name.as_str(), RenameFlags::NOREPLACE) {
            // A file system without RENAME_NOREPLACE: a hard link cannot replace either.
            Err(Errno::INVAL | Errno::NOSYS) => {
                rfs::linkat(&self.fd, temp.as_str(), &self.fd, name.as_str(), AtFlags::empty())
                    .map_err(from_errno)?;
                self.remove(temp)
            }
            other => other.map_err(from_errno),
        }
    }

    /// Removes the file (or link) `name` in this folder.
    pub fn remove(&self, name: &EntryName) -> Result<(), SandboxError> {
        rfs::unlinkat(&self.fd, name.as_str(), AtFlags::empty()).map_err(from_errno)
    }

    /// The open folder holding `rel`'s last name, and that name (`None` for `rel` empty).
    fn parent_of(&self, rel: &RelativePath) -> Result<(OwnedFd, Option<EntryName>), SandboxError> {
        let components: Vec<&str> = rel.components().collect();
        let Some((_, parents)) = components.split_last() else {
            return Ok((walk(self.fd.as_fd(), &[])?, None));
        };
        Ok((walk(self.fd.as_fd(), parents)?, rel.file_name()))
    }
}

#[cfg(test)]
#[path = "sandbox_tests.rs"]
mod tests;
