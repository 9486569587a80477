//! X11 windows for application sharing (SHR-5..8): which top-level
//! application windows there are and where ([`X11Windows`]), which one a
//! click at a screen pixel reaches and which one has the keyboard; and a
//! [`VideoSource`] with one window's own pixels ([`X11WindowSource`]).
//!
//! ```text
//! approver picks from X11Windows::list() --WindowId--> X11WindowSource (Composite: the window's own pixmap)
//! session, per control message: X11Windows::rect / topmost_at / focused --> control::SharedWindow
//! ```
//!
//! **Top-level application windows** are the window manager's client list
//! (`_NET_CLIENT_LIST` on the root, [EWMH]) when it has one. Without a window
//! manager that keeps one (a bare X server, as under Xvfb), they are the
//! mapped children of the root that have a title and are not override-redirect
//! (menus, tooltips), or, for an untitled child (a reparenting manager's
//! frame), its mapped titled children. Only windows mapped now are listed:
//! those are the ones that can be shown.
//!
//! **Titles** (`_NET_WM_NAME` in UTF-8, else `WM_NAME`) are set by any program
//! on the display and are shown to the person choosing: they are read with a
//! bounded length, cut to [`MAX_TITLE_CHARS`], and stripped of control and
//! bidirectional-override characters ([`clean_title`]).
//!
//! **Capture** uses the [Composite extension]: the source redirects the window
//! (automatic redirection: the server still draws it on screen as before), so
//! that the window's whole content lives in a pixmap of its own, and reads
//! that pixmap for every frame: through MIT-SHM 1.2 (a memfd shared with the
//! server) when the server offers it, else with `GetImage`. The pixmap holds this
//! window (and its own subwindows) only: a window lying on top of it on
//! screen is never in its frames. The pixmap is named afresh for every frame,
//! so frames follow moves and resizes (the frame is the window's size,
//! rounded down to even).
//!
//! **End of a window**: while the shared window is unmapped (minimised,
//! hidden) its frames are black, of its last size; once it is destroyed
//! [`X11WindowSource::capture`] returns `Ok(None)`, and as a
//! [`VideoSource`] it fails with [`VideoError::NoDevice`] ("the shared window
//! … is gone"), which the video pipeline reports and then stops that feed.
//!
//! [EWMH]: https://specifications.freedesktop.org/wm-spec/1.5/ar01s03.html
//! [Composite extension]: https://gitlab.freedesktop.org/xorg/proto/xorgproto/-/blob/master/compositeproto.txt

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use x11rb::connection::{Connection, RequestConnection};
use x11rb::errors::ReplyError;

use x11rb::protocol::composite::{self, ConnectionExt as _, Redirect};
use x11rb::protocol::shm::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{
    AtomEnum, ConnectionExt as _, GetPropertyReply, ImageFormat, ImageOrder, InputFocus, MapState, Window,
    WindowClass,
};
use x11rb::rust_connection::RustConnection;

use super::convert::bgra_to_i420;
use super::{I420Frame, VideoError, VideoSource, WindowId};
use crate::control::Surface;

/// Longest title kept, in characters (longer ones end in "…").
pub const MAX_TITLE_CHARS: usize = 128;
/// Bytes read of a title or class property (in 32-bit units, as X counts them).
const MAX_PROPERTY_WORDS: u32 = 256;
/// Most windows listed (a hostile program could create thousands).
const MAX_WINDOWS: usize = 256;
/// How deep a search for the window under a pixel goes below the root.
const MAX_DEPTH: usize = 8;

x11rb::atom_manager! {
    Atoms: AtomsCookie {
        _NET_CLIENT_LIST,
        _NET_WM_NAME,
        UTF8_STRING,
    }
}

/// One top-level application window, as the picker shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowInfo {
    pub id: WindowId,
    /// The window's title, cleaned ([`clean_title`]); empty when it has none.
    pub title: String,
    /// The class part of `WM_CLASS` (which program it is), cleaned; empty when unset.
    pub class: String,
    /// Where it is on screen now.
    pub rect: Surface,
}

/// A connection to an X display for finding and locating windows. Each call
/// asks the server afresh (windows move, appear and go at any time); an X
/// error or a broken connection reads as "no such window".
pub struct X11Windows {
    conn: RustConnection,
    root: Window,
    atoms: Atoms,
    screen_size: (u16, u16),
}

impl X11Windows {
    /// Connects to `display` (`None`: `$DISPLAY`).
    pub fn connect(display: Option<&str>) -> Result<Self, VideoError> {
        let (conn, screen) = connect(display)?;
        let root_screen = conn
            .setup()
            .roots
            .get(screen)
            .ok_or_else(|| VideoError::NoDevice(format!("the X display has no screen {screen}")))?;
        let (root, screen_size) =
            (root_screen.root, (root_screen.width_in_pixels, root_screen.height_in_pixels));
        let atoms = Atoms::new(&conn)
            .map_err(capture_error)?
            .reply()
            .map_err(|e| VideoError::Capture(format!("interning atoms: {e}")))?;
        Ok(Self { conn, root, atoms, screen_size })
    }

    /// The top-level application windows mapped now, with their titles and places.
    pub fn list(&self) -> Vec<WindowInfo> {
        self.top_levels()
            .into_iter()
            .filter_map(|w| {
                let rect = self.rect(WindowId(w))?;
                let title = self.title(w).unwrap_or_default();
                Some(WindowInfo { id: WindowId(w), title, class: self.class(w), rect })
            })
            .take(MAX_WINDOWS)
            .collect()
    }

    /// Where `id` is on screen now (inside its border); `None` when it is
    /// gone or not mapped.
    pub fn rect(&self, id: WindowId) -> Option<Surface> {
        let attributes = self.conn.get_window_attributes(id.0).ok()?;
        let geometry = self.conn.get_geometry(id.0).ok()?;
        let origin = self.conn.translate_coordinates(id.0, self.root, 0, 0).ok()?;
        let (attributes, geometry, origin) =
            (attributes.reply().ok()?, geometry.reply().ok()?, origin.reply().ok()?);
        (attributes.map_state == MapState::VIEWABLE).then_some(Surface {
            x: i32::from(origin.dst_x),
            y: i32::from(origin.dst_y),
            width: u32::from(geometry.width),
            height: u32::from(geometry.height),
        })
    }

    /// The top-level window that a click at screen pixel (`x`, `y`) reaches:
    /// the X server's own answer (stacking order, input shapes), taken up to
    /// the application window it belongs to. Another program's window on top
    /// (a panel, a menu) gives that window's id; the bare desktop or a point
    /// off the screen gives `None`.
    pub fn topmost_at(&self, x: i32, y: i32) -> Option<WindowId> {
        let (w, h) = self.screen_size;
        if x < 0 || y < 0 || x >= i32::from(w) || y >= i32::from(h) {
            return None;
        }
        let path = self.path_at(x as i16, y as i16);
        self.top_level_on(&path)
    }

    /// The top-level window that typed keys reach now. With the focus on the
    /// root or "pointer root", and whenever the pointer is inside the focus
    /// window, keys go to the window under the pointer (as the X server
    /// delivers them).
    pub fn focused(&self) -> Option<WindowId> {
        let focus = self.conn.get_input_focus().ok()?.reply().ok()?.focus;
        if focus == u32::from(InputFocus::NONE) {
            return None;
        }
        let pointer = self.conn.query_pointer(self.root).ok()?.reply().ok()?;
        let under_pointer = self.path_at(pointer.root_x, pointer.root_y);
        if focus == u32::from(InputFocus::POINTER_ROOT)
            || focus == self.root
            || under_pointer.contains(&focus)
        {
            return self.top_level_on(&under_pointer);
        }
        self.top_level_on(&self.ancestors(focus)?)
    }

    /// The candidates for top-level application windows, before titles and places.
    fn top_levels(&self) -> Vec<Window> {
        if let Some(clients) = self.client_list() {
            return clients;
        }
        let mut found = Vec::new();
        for child in self.children(self.root) {
            if !self.is_plain_mapped(child) {
                continue;
            }
            if self.title(child).is_some() {
                found.push(child);
            } else {
                // A reparenting window manager's frame: the application is one level down.
                found.extend(
                    self.children(child)
                        .into_iter()
                        .filter(|&c| self.is_plain_mapped(c) && self.title(c).is_some()),
                );
            }
            if found.len() >= MAX_WINDOWS {
                break;
            }
        }
        found
    }

    /// Which window of a root-to-leaf path is the application window the
    /// user would name: one on the client list, else (no window manager)
    /// the root's child if titled, else its titled child, else the root's child.
    fn top_level_on(&self, path: &[Window]) -> Option<WindowId> {
        let first = *path.first()?;
        let found = match self.client_list() {
            Some(clients) => path.iter().copied().find(|w| clients.contains(w)),
            None => path.iter().take(2).copied().find(|&w| self.title(w).is_some()),
        };
        Some(WindowId(found.unwrap_or(first)))
    }

    /// The windows containing screen pixel (`x`, `y`), from the root's child down.
    fn path_at(&self, x: i16, y: i16) -> Vec<Window> {
        let mut path = Vec::new();
        let mut parent = self.root;
        while path.len() < MAX_DEPTH {
            let Some(reply) =
                self.conn.translate_coordinates(self.root, parent, x, y).ok().and_then(|c| c.reply().ok())
            else {
                break;
            };
            if reply.child == x11rb::NONE {
                break;
            }
            path.push(reply.child);
            parent = reply.child;
        }
        path
    }

    /// `window` and its ancestors below the root, the root's child first.
    fn ancestors(&self, window: Window) -> Option<Vec<Window>> {
        let mut path = vec![window];
        let mut current = window;
        for _ in 0..MAX_DEPTH {
            let parent = self.conn.query_tree(current).ok()?.reply().ok()?.parent;
            if parent == self.root {
                path.reverse();
                return Some(path);
            }
            if parent == x11rb::NONE {
                return None;
            }
            path.push(parent);
            current = parent;
        }
        None
    }

    /// `_NET_CLIENT_LIST`, when a window manager keeps one.
    fn client_list(&self) -> Option<Vec<Window>> {
        let reply = self
            .conn
            .get_property(
                false,
                self.root,
                self.atoms._NET_CLIENT_LIST,
                AtomEnum::WINDOW,
                0,
                MAX_WINDOWS as u32,
            )
            .ok()?
            .reply()
            .ok()?;
        if reply.type_ != u32::from(AtomEnum::WINDOW) {
            return None;
        }
        Some(reply.value32()?.collect())
    }

    fn children(&self, window: Window) -> Vec<Window> {
        let tree = self.conn.query_tree(window).ok().and_then(|c| c.reply().ok());
        tree.map(|t| t.children).unwrap_or_default()
    }

    /// Mapped, drawable and not a menu or tooltip (override-redirect).
    fn is_plain_mapped(&self, window: Window) -> bool {
        let attributes = self.conn.get_window_attributes(window).ok().and_then(|c| c.reply().ok());
        attributes.is_some_and(|a| {
            a.map_state == MapState::VIEWABLE && !a.override_redirect && a.class == WindowClass::INPUT_OUTPUT
        })
    }

    /// The window's title, cleaned; `None` when it has none (or only invisible characters).
    fn title(&self, window: Window) -> Option<String> {
        let utf8 = self.property(window, self.atoms._NET_WM_NAME, self.atoms.UTF8_STRING);
        let raw = match utf8 {
            Some(p) if p.type_ == self.atoms.UTF8_STRING && p.format == 8 => {
                String::from_utf8_lossy(&p.value).into_owned()
            }
            _ => {
                let p = self.property(window, AtomEnum::WM_NAME, AtomEnum::ANY)?;
                if p.format != 8 {
                    return None;
                }
                if p.type_ == u32::from(AtomEnum::STRING) {
                    // ICCCM: STRING is ISO Latin-1.
                    p.value.iter().map(|&b| char::from(b)).collect()
                } else {
                    String::from_utf8_lossy(&p.value).into_owned()
                }
            }
        };
        let title = clean_title(&raw);
        (!title.is_empty()).then_some(title)
    }

    /// The class part of `WM_CLASS` ("instance\0class\0"), cleaned.
    fn class(&self, window: Window) -> String {
        let Some(p) = self.property(window, AtomEnum::WM_CLASS, AtomEnum::STRING) else {
            return String::new();
        };
        let parts: Vec<&[u8]> = p.value.split(|&b| b == 0).filter(|s| !s.is_empty()).collect();
        let class = parts.get(1).or(parts.first()).copied().unwrap_or_default();
        clean_title(&String::from_utf8_lossy(class))
    }

    fn property(
        &self,
        window: Window,
        property: impl Into<u32>,
        type_: impl Into<u32>,
    ) -> Option<GetPropertyReply> {
        let reply = self
            .conn
            .get_property(false, window, property.into(), type_.into(), 0, MAX_PROPERTY_WORDS)
            .ok()?
            .reply()
            .ok()?;
        (reply.type_ != x11rb::NONE).then_some(reply)
    }
}

/// A title fit to show: control characters and the invisible characters
/// that reorder text (bidirectional overrides and marks) are removed, runs of
/// white space become one space, and it is cut to [`MAX_TITLE_CHARS`].
pub fn clean_title(raw: &str) -> String {
    let reorders =
        |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let mut words = raw
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .filter(|&c| !reorders(c))
        .collect::<String>();
    words = words.split_whitespace().collect::<Vec<_>>().join(" ");
    if words.chars().count() <= MAX_TITLE_CHARS {
        return words;
    }
    let mut short: String = words.chars().take(MAX_TITLE_CHARS - 1).collect();
    short.push('…');
    short
}

/// One window's own pixels, through the Composite extension (see the module docs).
pub struct X11WindowSource {
    conn: RustConnection,
    window: Window,
    /// The size of the last picture, for black frames while the window is unmapped.
    last_size: (usize, usize),
    /// Where the server writes pictures with MIT-SHM, sized for the largest so far.
    shm: Option<ShmSegment>,
    /// Whether MIT-SHM may be used: the server has 1.2 (segments passed as file
    /// descriptors) and it has not failed yet. Otherwise pictures come with `GetImage`.
    shm_usable: bool,
}

/// The size of a frame before a window was ever seen mapped.
const UNSEEN_SIZE: (usize, usize) = (64, 64);
/// Widest and tallest part of a window read (larger windows are cropped to their top-left 8192x8192).
const MAX_SIDE: u16 = 8192;

impl X11WindowSource {
    /// Starts capturing `window` on `display` (`None`: `$DISPLAY`). Fails when
    /// the window does not exist, the server lacks Composite 0.2, or the
    /// window's pixels are not 32-bit little-endian RGB (what Xorg and Xvfb use at depth 24 and 32).
    pub fn open(display: Option<&str>, window: WindowId) -> Result<Self, VideoError> {
        let (conn, _) = connect(display)?;
        if conn.extension_information(composite::X11_EXTENSION_NAME).map_err(capture_error)?.is_none() {
            return Err(VideoError::NoDevice("the X server has no Composite extension".into()));
        }
        let version =
            conn.composite_query_version(0, 4).map_err(capture_error)?.reply().map_err(reply_error)?;
        if (version.major_version, version.minor_version) < (0, 2) {
            return Err(VideoError::NoDevice(format!(
                "Composite {}.{} cannot name window pixmaps (0.2 needed)",
                version.major_version, version.minor_version
            )));
        }
        let gone = || VideoError::NoDevice(format!("no window {:#x} to share", window.0));
        let geometry = conn.get_geometry(window.0).map_err(capture_error)?.reply().map_err(|_| gone())?;
        let attributes =
            conn.get_window_attributes(window.0).map_err(capture_error)?.reply().map_err(|_| gone())?;
        check_pixel_format(conn.setup(), geometry.depth, attributes.visual)?;
        // Another client (a compositing manager) may hold the window redirected
        // already; its pixmap exists then just the same.
        let redirected =
            conn.composite_redirect_window(window.0, Redirect::AUTOMATIC).map_err(capture_error)?.check();
        if let Err(e) = redirected {
            tracing::debug!(window = window.0, error = ?e, "window already redirected by another client");
        }
        let shm_usable = shm_fd_passing(&conn);
        let mut source = Self { conn, window: window.0, last_size: UNSEEN_SIZE, shm: None, shm_usable };
        if geometry.width >= 2 && geometry.height >= 2 {
            source.last_size = (usize::from(geometry.width), usize::from(geometry.height));
        }
        Ok(source)
    }

    /// Reads pictures with `GetImage` only, never MIT-SHM (for X servers
    /// whose shared memory misbehaves, and to test that path).
    pub fn without_shm(mut self) -> Self {
        self.shm_usable = false;
        if let Some(shm) = self.shm.take() {
            shm.detach(&self.conn);
        }
        self
    }

    /// The window's picture now: black while it is unmapped, `Ok(None)` once it is destroyed.
    pub fn capture(&mut self) -> Result<Option<I420Frame>, VideoError> {
        // Errors of requests nobody waits for land in the event queue: keep it empty.
        while let Ok(Some(_)) = self.conn.poll_for_event() {}
        let attributes = match self.conn.get_window_attributes(self.window).map_err(capture_error)?.reply() {
            Ok(a) => a,
            Err(ReplyError::X11Error(_)) => return Ok(None),
            Err(e) => return Err(reply_error(e)),
        };
        if attributes.map_state != MapState::VIEWABLE {
            return Ok(Some(self.black()));
        }
        match self.picture()? {
            Some(frame) => {
                self.last_size = (frame.width, frame.height);
                Ok(Some(frame))
            }
            // Unmapped or destroyed between the requests: black now, the next frame tells which.
            None => Ok(Some(self.black())),
        }
    }

    fn black(&self) -> I420Frame {
        I420Frame::black(self.last_size.0.max(2), self.last_size.1.max(2))
    }

    /// Names the window's pixmap and reads its inside (the border cut off).
    /// `None` when the window was unmapped or destroyed meanwhile.
    fn picture(&mut self) -> Result<Option<I420Frame>, VideoError> {
        let conn = &self.conn;
        let pixmap = conn.generate_id().map_err(|e| VideoError::Capture(format!("no X resource id: {e}")))?;
        let named = conn.composite_name_window_pixmap(self.window, pixmap).map_err(capture_error)?;
        let window_geometry = conn.get_geometry(self.window).map_err(capture_error)?;
        let pixmap_geometry = conn.get_geometry(pixmap).map_err(capture_error)?;
        // Replies first: then the check needs no round trip of its own.
        let (window_geometry, pixmap_geometry) = (window_geometry.reply(), pixmap_geometry.reply());
        match named.check() {
            Ok(()) => {}
            Err(ReplyError::X11Error(_)) => return Ok(None),
            Err(e) => return Err(reply_error(e)),
        }
        let frame = match (window_geometry, pixmap_geometry) {
            (Ok(w), Ok(p)) => {
                // The pixmap includes the border; the frame is the inside.
                let border = w.border_width;
                let width = p.width.saturating_sub(2 * border).min(MAX_SIDE);
                let height = p.height.saturating_sub(2 * border).min(MAX_SIDE);
                let at = i16::try_from(border).unwrap_or(i16::MAX);
                if width >= 2 && height >= 2 { self.read(pixmap, at, width, height) } else { Ok(None) }
            }
            _ => Ok(None),
        };
        self.conn.free_pixmap(pixmap).map_err(capture_error)?;
        frame
    }

    /// Reads `width`x`height` pixels of `pixmap` from (`at`, `at`): through
    /// MIT-SHM while it works, else with `GetImage`.
    fn read(
        &mut self,
        pixmap: u32,
        at: i16,
        width: u16,
        height: u16,
    ) -> Result<Option<I420Frame>, VideoError> {
        if self.shm_usable {
            match self.read_shm(pixmap, at, width, height) {
                Ok(frame) => return Ok(Some(frame)),
                Err(e) => {
                    tracing::info!(error = %e, "MIT-SHM window capture failed; reading with GetImage from now on");
                    self.shm_usable = false;
                    if let Some(shm) = self.shm.take() {
                        shm.detach(&self.conn);
                    }
                }
            }
        }
        let (w, h) = (usize::from(width), usize::from(height));
        let cookie = self
            .conn
            .get_image(ImageFormat::Z_PIXMAP, pixmap, at, at, width, height, !0)
            .map_err(capture_error)?;
        match cookie.reply() {
            Ok(reply) if reply.data.len() >= w * h * 4 => bgra_to_i420(&reply.data, w * 4, w, h).map(Some),
            Ok(reply) => {
                Err(VideoError::Capture(format!("a {w}x{h} window image of {} bytes", reply.data.len())))
            }
            Err(ReplyError::X11Error(_)) => Ok(None),
            Err(e) => Err(reply_error(e)),
        }
    }

    fn read_shm(&mut self, pixmap: u32, at: i16, width: u16, height: u16) -> Result<I420Frame, String> {
        let (w, h) = (usize::from(width), usize::from(height));
        let len = w * h * 4;
        if self.shm.as_ref().is_none_or(|s| s.mapping.len < len) {
            if let Some(old) = self.shm.take() {
                old.detach(&self.conn);
            }
            self.shm = Some(ShmSegment::attach(&self.conn, len)?);
        }
        let Some(shm) = &self.shm else { unreachable!("attached just above") };
        let format = u8::from(ImageFormat::Z_PIXMAP);
        let reply = self
            .conn
            .shm_get_image(pixmap, at, at, width, height, !0, format, shm.seg, 0)
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| e.to_string())?;
        if (reply.size as usize) < len {
            return Err(format!("a {w}x{h} window image of {} bytes", reply.size));
        }
        // SAFETY: the server wrote the picture before its reply, and writes
        // into the segment again only for our next ShmGetImage.
        let bgra = unsafe { shm.mapping.bytes(len) };
        bgra_to_i420(bgra, w * 4, w, h).map_err(|e| e.to_string())
    }
}

/// A shared memory segment for MIT-SHM 1.2: a memfd mapped here and passed
/// to the X server by file descriptor (no System V segment to leak).
struct ShmSegment {
    seg: u32,
    mapping: Mapping,
}

impl ShmSegment {
    fn attach(conn: &RustConnection, len: usize) -> Result<Self, String> {
        let os = |what: &str| format!("{what}: {}", std::io::Error::last_os_error());
        // SAFETY: a valid C string and flags; the result is checked.
        let fd = unsafe { libc::memfd_create(c"tandem-window-capture".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(os("memfd_create"));
        }
        // SAFETY: `fd` was just created and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let size = libc::off_t::try_from(len).map_err(|_| format!("{len} bytes"))?;
        // SAFETY: a valid descriptor; the result is checked.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), size) } != 0 {
            return Err(os("ftruncate"));
        }
        // SAFETY: maps `len` bytes of a file of `len` bytes, read-only; checked against MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(std::ptr::null_mut(), len, libc::PROT_READ, libc::MAP_SHARED, fd.as_raw_fd(), 0)
        };
        if ptr == libc::MAP_FAILED {
            return Err(os("mmap"));
        }
        let mapping = Mapping { ptr: ptr.cast(), len };
        let seg = conn.generate_id().map_err(|e| e.to_string())?;
        // The server maps the same memory and may write it; the descriptor goes to it.
        conn.shm_attach_fd(seg, fd, false).map_err(|e| e.to_string())?.check().map_err(|e| e.to_string())?;
        Ok(Self { seg, mapping })
    }

    fn detach(self, conn: &RustConnection) {
        let _ = conn.shm_detach(self.seg);
    }
}

/// Memory mapped by [`ShmSegment::attach`], unmapped when dropped.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value alone; nothing ties it to a thread.
unsafe impl Send for Mapping {}

impl Mapping {
    /// The first `len` bytes.
    ///
    /// # Safety
    /// Nobody (the X server) may write them while the slice lives.
    unsafe fn bytes(&self, len: usize) -> &[u8] {
        // SAFETY: `ptr` is a live mapping of `self.len` readable bytes; the caller
        // keeps writers away; `len` is checked against the mapping's length.
        unsafe { std::slice::from_raw_parts(self.ptr, len.min(self.len)) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `attach` mapped, once; no slice of it outlives `self`.
        unsafe { libc::munmap(self.ptr.cast(), self.len) };
    }
}

/// Whether the server has MIT-SHM 1.2 (segments passed as file descriptors).
fn shm_fd_passing(conn: &RustConnection) -> bool {
    let present = conn.extension_information(shm::X11_EXTENSION_NAME).ok().flatten().is_some();
    let version = || conn.shm_query_version().ok()?.reply().ok();
    present && version().is_some_and(|v| (v.major_version, v.minor_version) >= (1, 2))
}

impl VideoSource for X11WindowSource {
    fn next_frame(&mut self) -> Result<I420Frame, VideoError> {
        self.capture()?
            .ok_or_else(|| VideoError::NoDevice(format!("the shared window {:#x} is gone", self.window)))
    }
}

impl Drop for X11WindowSource {
    fn drop(&mut self) {
        // The server also ends the redirection when the connection closes; say it now.
        if let Some(shm) = self.shm.take() {
            shm.detach(&self.conn);
        }
        let _ = self.conn.composite_unredirect_window(self.window, Redirect::AUTOMATIC);
        let _ = self.conn.flush();
    }
}

fn connect(display: Option<&str>) -> Result<(RustConnection, usize), VideoError> {
    x11rb::connect(display).map_err(|e| {
        VideoError::NoDevice(format!("cannot open the X display {}: {e}", display.unwrap_or("$DISPLAY")))
    })
}

/// Frames are read as BGRA: 32 bits per pixel, least significant byte first,
/// blue in the lowest byte.
fn check_pixel_format(
    setup: &x11rb::protocol::xproto::Setup,
    depth: u8,
    visual: u32,
) -> Result<(), VideoError> {
    let bits = setup.pixmap_formats.iter().find(|f| f.depth == depth).map(|f| f.bits_per_pixel);
    let masks = setup
        .roots
        .iter()
        .flat_map(|s| &s.allowed_depths)
        .flat_map(|d| &d.visuals)
        .find(|v| v.visual_id == visual)
        .map(|v| (v.red_mask, v.green_mask, v.blue_mask));
    let ok = setup.image_byte_order == ImageOrder::LSB_FIRST
        && bits == Some(32)
        && masks == Some((0xff_0000, 0xff00, 0xff));
    if ok {
        Ok(())
    } else {
        Err(VideoError::NoDevice(format!(
            "window pixels of depth {depth} ({bits:?} bits, masks {masks:x?}) are not 32-bit BGRA"
        )))
    }
}

fn capture_error(e: impl std::fmt::Display) -> VideoError {
    VideoError::Capture(format!("X connection: {e}"))
}

fn reply_error(e: ReplyError) -> VideoError {
    VideoError::Capture(format!("X request failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_lose_control_and_reordering_characters_and_are_bounded() {
        assert_eq!(clean_title("  Report.odt\n- LibreOffice\tWriter "), "Report.odt - LibreOffice Writer");
        assert_eq!(clean_title("\u{202e}fdp.exe\u{202c} bank\u{7}"), "fdp.exe bank");
        assert_eq!(clean_title("\u{200f}\u{0}\u{1b}[31m"), "[31m");
        assert_eq!(clean_title(""), "");
        assert_eq!(clean_title("Grüße – 日本語"), "Grüße – 日本語");
        let long = clean_title(&"é".repeat(1000));
        assert_eq!(long.chars().count(), MAX_TITLE_CHARS);
        assert!(long.ends_with('…'));
    }
}
