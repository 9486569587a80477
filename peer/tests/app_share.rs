//! Application sharing building blocks on a real X server (Xvfb, SHR-5..8):
//! two coloured, titled windows A and B; the window list names both; the
//! window source's frames are A's colour only — alone, while B lies over it
//! (checked on screen), after A moves and resizes (the frame size follows) —
//! black while A is unmapped and an error once it is destroyed; the X
//! server's hit test says B over the overlap and A elsewhere in A; the
//! screen selector switches desktop → window A → nothing → a window that
//! goes, with the right pictures after each switch. The test starts its own
//! Xvfb and stops it at the end, also on failure.

mod common;

use std::time::{Duration, Instant};

use common::xvfb::start_xvfb;
use common::xwindows::TestWindows;
use tandem_peer::control::Surface;
use tandem_peer::video::screen_selector::{NOTHING_SIZE, ScreenSelector, ScreenTarget, source_factory};
use tandem_peer::video::x11_window::{X11WindowSource, X11Windows};
use tandem_peer::video::{I420Frame, VideoError, VideoSource, WindowId, Yuv};

const DEADLINE: Duration = Duration::from_secs(10);
const A_RGB: u32 = 0xd0_2020;
const B_RGB: u32 = 0x20_40d0;

fn yuv(rgb: u32) -> Yuv {
    let [b, g, r, _] = rgb.to_le_bytes();
    Yuv::from_rgb(r, g, b)
}

/// How many pixels of `frame` are within a small tolerance of `colour` (chroma per 2×2 block).
fn count_near(frame: &I420Frame, colour: Yuv) -> usize {
    let mut n = 0;
    for y in 0..frame.height {
        for x in 0..frame.width {
            n += usize::from(frame.at(x, y).near(colour, 3));
        }
    }
    n
}

/// Every pixel is A's colour: none of B's, none of anything else.
fn assert_only_a(frame: &I420Frame, when: &str) {
    let total = frame.width * frame.height;
    let (a, b) = (count_near(frame, yuv(A_RGB)), count_near(frame, yuv(B_RGB)));
    assert_eq!(b, 0, "{when}: {b} pixels of B's colour in A's frame");
    assert_eq!(
        a,
        total,
        "{when}: only {a} of {total} pixels are A's colour; centre {:?}",
        frame.at(frame.width / 2, frame.height / 2)
    );
}

/// Polls `source` until a frame of `size` comes (the window was just changed).
fn frame_of_size(source: &mut dyn VideoSource, size: (usize, usize), when: &str) -> I420Frame {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let frame = source.next_frame().unwrap_or_else(|e| panic!("{when}: {e}"));
        if (frame.width, frame.height) == size {
            return frame;
        }
        assert!(
            Instant::now() < deadline,
            "{when}: frames stay {}x{}, not {size:?}",
            frame.width,
            frame.height
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn one_window_is_listed_captured_alone_hit_tested_and_selected() {
    let xvfb = start_xvfb("640x480x24");
    // SAFETY: set before any other thread exists (this file has one test); the
    // selector's desktop capture (scrap) reads DISPLAY.
    unsafe { std::env::set_var("DISPLAY", &xvfb.display) };
    let display = Some(xvfb.display.as_str());
    let test = TestWindows::connect(&xvfb.display);
    let a = test.create("Alpha ledger", A_RGB, (40, 40), (200, 150));
    let b = test.create("Beta notes – ünïcode", B_RGB, (360, 60), (160, 120));
    let (wa, wb) = (WindowId(a), WindowId(b));
    let windows = X11Windows::connect(display).expect("X11Windows on Xvfb");

    // 1. Both windows are listed, with their titles and places (no window manager: the root's children).
    let list = windows.list();
    let find = |id| list.iter().find(|w| w.id == id).unwrap_or_else(|| panic!("{id:?} not in {list:?}"));
    assert_eq!(find(wa).title, "Alpha ledger");
    assert_eq!(find(wb).title, "Beta notes – ünïcode");
    assert_eq!(find(wa).rect, Surface { x: 40, y: 40, width: 200, height: 150 });
    assert_eq!(list.len(), 2, "nothing else is a titled window here: {list:?}");

    // 2. A's own pixels, read through MIT-SHM and (the fallback) with GetImage.
    let mut source = X11WindowSource::open(display, wa).expect("capture A");
    let mut plain = X11WindowSource::open(display, wa).expect("capture A").without_shm();
    for (source, how) in [(&mut source, "shm"), (&mut plain, "GetImage")] {
        let frame = frame_of_size(source, (200, 150), &format!("A alone, {how}"));
        assert_only_a(&frame, &format!("A alone, {how}"));
    }

    // 3. B lies over part of A: on screen the overlap is B's, in A's frames it never is.
    test.place(b, (120, 80), (160, 120), true);
    assert_eq!(test.screen_pixel(150, 100), B_RGB, "B is over A on screen");
    assert_eq!(test.screen_pixel(50, 50), A_RGB, "A shows beside B");
    for (source, how) in [(&mut source, "shm"), (&mut plain, "GetImage")] {
        for n in 0..3 {
            let frame = frame_of_size(source, (200, 150), "B over A");
            assert_only_a(&frame, &format!("B over A, {how}, frame {n}"));
        }
    }
    assert_eq!(windows.topmost_at(150, 100), Some(wb), "a click on the overlap reaches B");
    assert_eq!(windows.topmost_at(50, 50), Some(wa), "a click on A's uncovered part reaches A");
    assert_eq!(windows.topmost_at(600, 400), None, "the bare desktop");
    assert_eq!(windows.topmost_at(-1, 5), None, "off the screen");
    // Keys: with the focus on "pointer root" they reach the window under the pointer; with the
    // focus on B they reach B wherever the pointer is.
    test.focus_pointer_root();
    test.pointer_to(50, 50);
    assert_eq!(windows.focused(), Some(wa), "the pointer is over A");
    test.pointer_to(150, 100);
    assert_eq!(windows.focused(), Some(wb), "the pointer is over B on the overlap");
    test.focus(b);
    test.pointer_to(50, 50);
    assert_eq!(windows.focused(), Some(wb), "B has the focus, the pointer is over A");
    test.focus(a);
    assert_eq!(windows.focused(), Some(wa));

    // 4. A moves and takes an odd size: its frames follow (rounded down to even), still A only.
    test.place(a, (60, 120), (251, 171), false);
    assert_eq!(windows.rect(wa), Some(Surface { x: 60, y: 120, width: 251, height: 171 }));
    assert_eq!(test.screen_pixel(130, 130), B_RGB, "B is still over A after the move");
    for (source, how) in [(&mut source, "shm"), (&mut plain, "GetImage")] {
        let frame = frame_of_size(source, (250, 170), &format!("A moved and resized, {how}"));
        assert_only_a(&frame, &format!("A moved and resized, {how}"));
    }
    assert_eq!(windows.topmost_at(130, 130), Some(wb));
    assert_eq!(windows.topmost_at(70, 280), Some(wa));

    // 5. The selector: desktop, then A, then nothing; each frame after a switch is the new target's.
    let selector = ScreenSelector::new(ScreenTarget::Desktop);
    let mut screen = source_factory(selector.clone(), display.map(str::to_owned))().expect("selector source");
    let frame = frame_of_size(screen.as_mut(), (640, 480), "desktop");
    assert!(frame.at(70, 280).near(yuv(A_RGB), 3), "A on the desktop: {:?}", frame.at(70, 280));
    assert!(frame.at(130, 130).near(yuv(B_RGB), 3), "B over A on the desktop: {:?}", frame.at(130, 130));
    selector.set(ScreenTarget::Window(wa));
    let frame = screen.next_frame().expect("window A");
    assert_eq!((frame.width, frame.height), (250, 170), "the first frame after the switch is A's");
    assert_only_a(&frame, "selector on A");
    selector.set(ScreenTarget::Nothing);
    let frame = screen.next_frame().expect("nothing");
    assert_eq!((frame.width, frame.height), NOTHING_SIZE);
    assert_eq!(
        count_near(&frame, Yuv::from_rgb(0, 0, 0)),
        NOTHING_SIZE.0 * NOTHING_SIZE.1,
        "nothing is black"
    );
    selector.set(ScreenTarget::Desktop);
    let frame = screen.next_frame().expect("desktop again");
    assert_eq!((frame.width, frame.height), (640, 480));
    assert!(frame.at(130, 130).near(yuv(B_RGB), 3), "the desktop again: {:?}", frame.at(130, 130));

    // 6. A is unmapped: black frames of its size. Destroyed: the window source
    // ends with an error, the selector shows black and names the window gone.
    selector.set(ScreenTarget::Window(wa));
    assert_only_a(&screen.next_frame().unwrap(), "selector on A again");
    test.unmap(a);
    assert_eq!(windows.rect(wa), None, "unmapped: no place");
    let frame = source.next_frame().expect("unmapped A");
    assert_eq!((frame.width, frame.height), (250, 170));
    assert_eq!(
        count_near(&frame, yuv(A_RGB)) + count_near(&frame, yuv(B_RGB)),
        0,
        "black, nothing of A or B"
    );
    test.destroy(a);
    match source.next_frame() {
        Err(VideoError::NoDevice(message)) => assert!(message.contains("gone"), "{message}"),
        other => panic!("a destroyed window must end the source, got {other:?}"),
    }
    let frame = screen.next_frame().expect("the selector keeps going");
    assert_eq!((frame.width, frame.height), NOTHING_SIZE);
    assert_eq!(selector.gone(), Some(wa));
    let list = windows.list();
    assert_eq!(list.iter().map(|w| w.id).collect::<Vec<_>>(), vec![wb], "only B is left");
    drop((screen, source, plain, test));
    drop(xvfb);
}
