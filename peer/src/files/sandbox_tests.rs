//! Hostile paths against both resolvers, on a real file system: a temporary
//! folder holding the granted `root/` and, beside it, an `outside/` whose
//! files must never be read, written, created or removed.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};

use tandem_wire::channels::remote_files::{EntryKind, EntryName, RelativePath, RemotePath, RootId};

use super::*;

const SECRET: &[u8] = b"SECRET-OUTSIDE-THE-ROOT";

struct World {
    _tmp: tempfile::TempDir,
    base: PathBuf,
    root: PathBuf,
    outside: PathBuf,
}

impl World {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().to_path_buf();
        let root = base.join("root");
        let outside = base.join("outside");
        std::fs::create_dir_all(root.join("docs/deep")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("secret.txt"), SECRET).unwrap();
        std::fs::write(root.join("docs/readme.txt"), b"hello").unwrap();
        std::fs::write(root.join("docs/deep/data.bin"), vec![7u8; 1000]).unwrap();
        symlink("/", root.join("to_slash")).unwrap();
        symlink("../outside", root.join("to_outside")).unwrap();
        symlink(outside.join("secret.txt"), root.join("to_secret")).unwrap();
        symlink("docs/deep/../../../outside/secret.txt", root.join("dotdot_link")).unwrap();
        symlink("docs", root.join("inside_link")).unwrap();
        symlink("/proc/self/root/etc/passwd", root.join("proc_link")).unwrap();
        rfs::mknodat(rfs::CWD, root.join("fifo").as_path(), FileType::Fifo, Mode::from_raw_mode(0o600), 0)
            .unwrap();
        // A listening socket's path.
        let _socket = std::os::unix::net::UnixListener::bind(root.join("sock")).unwrap();
        // A character device (/dev/null's numbers), where the container allows mknod.
        let _ = rfs::mknodat(
            rfs::CWD,
            root.join("device").as_path(),
            FileType::CharacterDevice,
            Mode::from_raw_mode(0o600),
            rfs::makedev(1, 3),
        );
        Self { _tmp: tmp, base, root, outside }
    }

    fn roots(&self, resolver: Resolver) -> Roots {
        Roots::grant(std::slice::from_ref(&self.root), resolver).unwrap()
    }

    /// Every file outside the root, with its bytes, size and change times.
    fn outside_snapshot(&self) -> BTreeMap<PathBuf, (Vec<u8>, i64, i64)> {
        let mut out = BTreeMap::new();
        snapshot(&self.outside, &mut out);
        out
    }
}

fn snapshot(dir: &Path, out: &mut BTreeMap<PathBuf, (Vec<u8>, i64, i64)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            snapshot(&path, out);
            out.insert(path, (Vec::new(), meta.mtime(), meta.ctime()));
        } else {
            out.insert(path.clone(), (std::fs::read(&path).unwrap(), meta.mtime(), meta.ctime()));
        }
    }
}

fn resolvers() -> Vec<Resolver> {
    let mut all = vec![Resolver::NoFollow];
    if Resolver::detect() == Resolver::Beneath {
        all.push(Resolver::Beneath);
    } else {
        eprintln!("openat2 is not available here: only the O_NOFOLLOW resolver is tested");
    }
    all
}

fn remote(path: &str) -> RemotePath {
    RemotePath { root: RootId(0), path: RelativePath::parse(path).unwrap() }
}

/// Tries everything a CSR could do with `path`; returns what leaked, if anything.
fn every_access(roots: &Roots, path: &RemotePath) -> Vec<String> {
    let mut leaks = Vec::new();
    let Ok(p) = roots.path(path) else { return leaks };
    if let Ok(mut opened) = p.open_file() {
        let mut bytes = Vec::new();
        let _ = opened.file.read_to_end(&mut bytes);
        leaks.push(format!("open_file read {} bytes", bytes.len()));
    }
    if let Ok(dir) = p.open_dir() {
        leaks.push(format!("open_dir listed {:?}", dir.list().map(|l| l.entries.len())));
    }
    // Seeing that a FIFO, socket or device is there (as the listing shows) is not a leak;
    // anything about a file or folder reached through a link out is.
    if let Ok(meta) = p.metadata()
        && meta.kind != EntryKind::Other
    {
        leaks.push(format!("metadata {meta:?}"));
    }
    leaks
}

#[test]
fn hostile_paths_are_refused_and_nothing_outside_is_touched() {
    let world = World::new();
    let device_made = world.root.join("device").exists();
    let before = world.outside_snapshot();
    let long_name = "n".repeat(256);
    let long_path = vec!["d".repeat(255); 17].join("/");

    // 1-10: refused when parsed, before the file system is asked anything.
    let unparseable = [
        "../../etc/passwd",
        "/etc/passwd",
        "docs/../../outside/secret.txt",
        "docs/readme.txt\0",
        "C:\\..",
        "C:/Windows/system32",
        "\\\\?\\C:\\Windows",
        "\\\\server\\share\\x",
        long_name.as_str(),
        long_path.as_str(),
        "docs//readme.txt",
        "./docs",
    ];
    for bad in unparseable {
        assert!(RelativePath::parse(bad).is_err(), "{bad:?} must not parse");
        let json = serde_json::json!({"root": 0, "path": bad}).to_string();
        assert!(serde_json::from_str::<RemotePath>(&json).is_err(), "{bad:?} must not decode");
    }

    for resolver in resolvers() {
        let roots = world.roots(resolver);
        // 11-21: well-formed paths that lead somewhere hostile.
        let mut hostile = vec![
            ("to_slash", "a link to /"),
            ("to_slash/etc/passwd", "through a link to /"),
            ("to_outside", "a relative link out of the root"),
            ("to_outside/secret.txt", "through a relative link out"),
            ("to_secret", "an absolute link to a file outside"),
            ("dotdot_link", "a link climbing out with .."),
            ("proc_link", "a /proc magic link"),
            ("fifo", "a FIFO"),
            ("sock", "a socket"),
            ("docs/readme.txt/x", "a file used as a folder"),
            ("nothing/here", "a missing path"),
        ];
        if device_made {
            hostile.push(("device", "a character device"));
        } else {
            eprintln!("mknod is not permitted here: the device case is covered by the FIFO and socket cases");
        }
        for (path, what) in &hostile {
            let leaks = every_access(&roots, &remote(path));
            assert!(leaks.is_empty(), "{resolver:?}: {what} ({path}) was reachable: {leaks:?}");
        }
        // A root that was not granted.
        let unknown = RemotePath { root: RootId(7), path: RelativePath::parse("docs").unwrap() };
        assert!(matches!(roots.path(&unknown), Err(SandboxError::UnknownRoot(RootId(7)))));

        // The refusals say why.
        let err = |p: &str| roots.path(&remote(p)).unwrap().open_file().unwrap_err();
        assert!(matches!(err("to_secret"), SandboxError::Symlink), "{resolver:?}");
        assert!(matches!(err("to_slash/etc/passwd"), SandboxError::Symlink), "{resolver:?}");
        assert!(matches!(err("fifo"), SandboxError::UnsupportedKind), "{resolver:?}");
        assert!(matches!(err("sock"), SandboxError::UnsupportedKind), "{resolver:?}");
        assert!(matches!(err("docs"), SandboxError::UnsupportedKind), "a folder is not a file");
        assert!(matches!(err("nothing"), SandboxError::NotFound));
        assert_eq!(err("to_secret").code(), TransferErrorCode::OutsideRoots);

        // What is allowed still works.
        let mut readme = roots.path(&remote("docs/readme.txt")).unwrap().open_file().unwrap();
        let mut text = String::new();
        readme.file.read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello");
        assert_eq!(readme.meta.size, 5);
        let listing = roots.path(&remote("")).unwrap().open_dir().unwrap().list().unwrap();
        let kinds: BTreeMap<&str, EntryKind> =
            listing.entries.iter().map(|e| (e.name.as_str(), e.kind)).collect();
        assert_eq!(kinds["docs"], EntryKind::Dir);
        assert_eq!(kinds["to_slash"], EntryKind::Symlink, "links are listed as links");
        assert_eq!(kinds["fifo"], EntryKind::Other);
        assert_eq!(kinds["sock"], EntryKind::Other);
        // A link that stays inside: followed only by the kernel-confined resolver.
        let inside = roots.path(&remote("inside_link/readme.txt")).unwrap().open_file();
        match resolver {
            Resolver::Beneath => assert_eq!(inside.unwrap().meta.size, 5),
            Resolver::NoFollow => assert!(matches!(inside, Err(SandboxError::Symlink))),
        }
    }
    assert_eq!(world.outside_snapshot(), before, "nothing outside the root changed");
    assert_eq!(std::fs::read(world.outside.join("secret.txt")).unwrap(), SECRET);
}

#[test]
fn writes_stay_below_the_root_even_when_a_folder_is_swapped_for_a_link_mid_write() {
    let world = World::new();
    let before = world.outside_snapshot();
    for resolver in resolvers() {
        let roots = world.roots(resolver);
        let up = world.root.join("up");
        let _ = std::fs::remove_dir_all(&up);
        std::fs::create_dir(&up).unwrap();
        let folder = roots.path(&remote("up")).unwrap().open_dir().unwrap();
        let sub = folder.create_subdirs(&RelativePath::parse("sub").unwrap()).unwrap();
        let (temp, mut file) = sub.create_temp().unwrap();
        file.write_all(&[1u8; 4096]).unwrap();

        // Mid-write: the folder is moved away and a link to outside/ takes its place.
        std::fs::rename(up.join("sub"), up.join("sub-moved")).unwrap();
        symlink(&world.outside, up.join("sub")).unwrap();

        file.write_all(&[2u8; 4096]).unwrap();
        drop(file);
        let name = EntryName::parse("data.bin").unwrap();
        sub.rename_into_place(&temp, &name, false).unwrap();
        // The file landed in the folder it was started in, now called sub-moved.
        let landed = std::fs::read(up.join("sub-moved/data.bin")).unwrap();
        assert_eq!(landed.len(), 8192);
        assert!(!world.outside.join("data.bin").exists());

        // Anything reached through the swapped name afterwards is refused.
        assert!(matches!(
            folder.create_subdirs(&RelativePath::parse("sub").unwrap()),
            Err(SandboxError::Symlink)
        ));
        assert!(matches!(
            folder.create_subdirs(&RelativePath::parse("sub/deeper").unwrap()),
            Err(SandboxError::Symlink)
        ));
        assert!(matches!(
            folder.open_file(&RelativePath::parse("sub/secret.txt").unwrap()),
            Err(SandboxError::Symlink)
        ));
        assert!(matches!(
            folder.open_subdir(&RelativePath::parse("sub").unwrap()),
            Err(SandboxError::Symlink)
        ));
        assert_eq!(
            folder.meta_of(&RelativePath::parse("sub").unwrap()).unwrap().map(|m| m.kind),
            Some(EntryKind::Symlink),
            "seen as a link, not followed"
        );
        let listed = roots.path(&remote("up/sub")).unwrap().open_dir();
        assert!(listed.is_err(), "{resolver:?}: listing through the link must fail");
    }
    assert_eq!(world.outside_snapshot(), before);
}

#[test]
fn renaming_into_place_never_writes_through_a_link_and_never_overwrites_unasked() {
    let world = World::new();
    let before = world.outside_snapshot();
    let roots = world.roots(Resolver::detect());
    let docs = roots.path(&remote("docs")).unwrap().open_dir().unwrap();
    // A link named like the target, pointing at a file outside.
    symlink(world.outside.join("secret.txt"), world.root.join("docs/report.pdf")).unwrap();
    let report = EntryName::parse("report.pdf").unwrap();

    let (temp, mut file) = docs.create_temp().unwrap();
    file.write_all(b"new report").unwrap();
    assert!(matches!(docs.rename_into_place(&temp, &report, false), Err(SandboxError::Exists)));
    // Overwriting an existing file without a yes: refused too, and the old bytes stay.
    let readme = EntryName::parse("readme.txt").unwrap();
    assert!(matches!(docs.rename_into_place(&temp, &readme, false), Err(SandboxError::Exists)));
    assert_eq!(std::fs::read(world.root.join("docs/readme.txt")).unwrap(), b"hello");
    // With the customer's yes the link itself is replaced; the file it pointed at is untouched.
    docs.rename_into_place(&temp, &report, true).unwrap();
    let meta = std::fs::symlink_metadata(world.root.join("docs/report.pdf")).unwrap();
    assert!(meta.is_file(), "the link was replaced by the file");
    assert_eq!(std::fs::read(world.root.join("docs/report.pdf")).unwrap(), b"new report");
    assert_eq!(world.outside_snapshot(), before);

    // A temporary file is private and never follows a link.
    let (temp, _file) = docs.create_temp().unwrap();
    let mode = std::fs::metadata(world.root.join("docs").join(temp.as_str())).unwrap().mode();
    assert_eq!(mode & 0o777, 0o600);
    docs.remove(&temp).unwrap();
    assert!(!world.root.join("docs").join(temp.as_str()).exists());
}

#[test]
fn a_file_swapped_after_opening_keeps_its_bytes() {
    let world = World::new();
    let roots = world.roots(Resolver::detect());
    let mut opened = roots.path(&remote("docs/readme.txt")).unwrap().open_file().unwrap();
    std::fs::remove_file(world.root.join("docs/readme.txt")).unwrap();
    symlink(world.outside.join("secret.txt"), world.root.join("docs/readme.txt")).unwrap();
    let mut bytes = Vec::new();
    opened.file.read_to_end(&mut bytes).unwrap();
    assert_eq!(bytes, b"hello");
    assert!(roots.path(&remote("docs/readme.txt")).unwrap().open_file().is_err());
}

#[test]
fn listings_skip_names_that_cannot_travel_and_roots_are_labelled() {
    let world = World::new();
    let odd = std::ffi::OsStr::from_bytes(b"not-utf8-\xff");
    std::fs::write(world.root.join("docs").join(odd), b"x").unwrap();
    std::fs::write(world.root.join("docs/C:evil"), b"x").unwrap();
    std::fs::write(world.root.join("docs/tab\there"), b"x").unwrap();
    let roots = world.roots(Resolver::detect());
    let listing = roots.path(&remote("docs")).unwrap().open_dir().unwrap().list().unwrap();
    let names: Vec<&str> = listing.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["deep", "readme.txt"]);
    assert_eq!(listing.unlisted, 3);
    let readme = &listing.entries[1];
    assert_eq!((readme.kind, readme.size), (EntryKind::File, 5));
    assert!(readme.modified.unwrap() > 1_600_000_000_000, "Unix milliseconds");

    let wire = roots.wire_roots();
    assert_eq!(wire.items().len(), 1);
    assert_eq!(wire.items()[0].label.as_str(), world.root.to_str().unwrap());
    assert_eq!(roots.path(&remote("")).unwrap().name().as_str(), "root");
    let too_many = vec![world.base.clone(); MAX_ROOTS + 1];
    assert!(matches!(Roots::grant(&too_many, Resolver::NoFollow), Err(SandboxError::TooManyRoots)));
}

use std::os::unix::ffi::OsStrExt;
