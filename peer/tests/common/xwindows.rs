//! Plain coloured test windows on a test X display, made with x11rb: a
//! title (`WM_NAME` and `_NET_WM_NAME`) and one background colour that the
//! X server paints itself. Every call waits until the server has done it.

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ConfigureWindowAux, ConnectionExt, CreateWindowAux, EventMask, MapState, PropMode, StackMode,
    Window, WindowClass,
};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

/// A connection that owns the test windows; they go when it is dropped.
pub struct TestWindows {
    conn: RustConnection,
    root: Window,
}

impl TestWindows {
    pub fn connect(display: &str) -> Self {
        let (conn, screen) = x11rb::connect(Some(display)).expect("connect to the test X display");
        let root = conn.setup().roots[screen].root;
        Self { conn, root }
    }

    /// Maps a `width`x`height` window at (`x`, `y`) filled with `rgb` (0xRRGGBB) and titled `title`.
    pub fn create(&self, title: &str, rgb: u32, (x, y): (i16, i16), (width, height): (u16, u16)) -> u32 {
        let c = &self.conn;
        let id = c.generate_id().unwrap();
        let aux = CreateWindowAux::new().background_pixel(rgb).event_mask(EventMask::STRUCTURE_NOTIFY);
        c.create_window(0, id, self.root, x, y, width, height, 0, WindowClass::INPUT_OUTPUT, 0, &aux)
            .unwrap()
            .check()
            .expect("create_window");
        c.change_property8(PropMode::REPLACE, id, AtomEnum::WM_NAME, AtomEnum::STRING, title.as_bytes())
            .unwrap();
        let utf8 = c.intern_atom(false, b"UTF8_STRING").unwrap().reply().unwrap().atom;
        let net_name = c.intern_atom(false, b"_NET_WM_NAME").unwrap().reply().unwrap().atom;
        c.change_property8(PropMode::REPLACE, id, net_name, utf8, title.as_bytes()).unwrap();
        c.map_window(id).unwrap();
        self.sync();
        let state = c.get_window_attributes(id).unwrap().reply().unwrap().map_state;
        assert_eq!(state, MapState::VIEWABLE, "{title} is on screen");
        id
    }

    /// Moves and resizes `id` (and raises it when `raise`).
    pub fn place(&self, id: u32, (x, y): (i16, i16), (width, height): (u16, u16), raise: bool) {
        let mut aux = ConfigureWindowAux::new()
            .x(i32::from(x))
            .y(i32::from(y))
            .width(u32::from(width))
            .height(u32::from(height));
        if raise {
            aux = aux.stack_mode(StackMode::ABOVE);
        }
        self.conn.configure_window(id, &aux).unwrap();
        self.sync();
    }

    pub fn unmap(&self, id: u32) {
        self.conn.unmap_window(id).unwrap();
        self.sync();
    }

    pub fn destroy(&self, id: u32) {
        self.conn.destroy_window(id).unwrap();
        self.sync();
    }

    /// Gives `id` the keyboard focus.
    pub fn focus(&self, id: u32) {
        let time = x11rb::CURRENT_TIME;
        self.conn.set_input_focus(x11rb::protocol::xproto::InputFocus::PARENT, id, time).unwrap();
        self.sync();
    }

    /// Gives the keyboard focus back to whatever is under the pointer.
    pub fn focus_pointer_root(&self) {
        let pointer_root = x11rb::protocol::xproto::InputFocus::POINTER_ROOT;
        self.conn.set_input_focus(pointer_root, u32::from(pointer_root), x11rb::CURRENT_TIME).unwrap();
        self.sync();
    }

    /// Puts the pointer at screen position (`x`, `y`).
    pub fn pointer_to(&self, x: i16, y: i16) {
        self.conn.warp_pointer(x11rb::NONE, self.root, 0, 0, 0, 0, x, y).unwrap();
        self.sync();
    }

    /// The colour (0xRRGGBB) the screen shows at (`x`, `y`): what a person sees there.
    pub fn screen_pixel(&self, x: i16, y: i16) -> u32 {
        let image = self
            .conn
            .get_image(x11rb::protocol::xproto::ImageFormat::Z_PIXMAP, self.root, x, y, 1, 1, !0)
            .unwrap()
            .reply()
            .unwrap();
        u32::from_le_bytes([image.data[0], image.data[1], image.data[2], 0])
    }

    /// A round trip: everything asked before has been done by the server.
    fn sync(&self) {
        self.conn.get_input_focus().unwrap().reply().unwrap();
    }
}
