//! Threads build: how network runs use the pool of Web Workers (`initThreadPool`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Condvar, Mutex, Once};
use std::time::Duration;

use tract_linalg::multithread::set_threading_element_threshold;

/// Below how many output elements tract's depthwise convolutions, and its other
/// element-wise, pooling and padding ops, stay on one thread. A depthwise convolution does
/// 9 to 49 multiply-adds per element, the others one or a few, so waking the pool's Web
/// Workers pays off at very different sizes (`make bench-threading`, 2 cores, Chromium,
/// medians of 3 rounds: PNASNet 0.90-0.92 s per image with depthwise from 128k elements and
/// 0.90-0.92 s from 32k, against 0.94-0.97 s at 512k; EfficientNet-Lite0 within noise at all
/// three; every op from 32k, EfficientNet-Lite0 was 27-31 ms against 23.5-27 in an earlier
/// sweep). tract has one gate for all of them, so it is set before each operator runs.
pub static DEPTHWISE_ELEMENTS: AtomicUsize = AtomicUsize::new(131_072);
pub static OTHER_ELEMENTS: AtomicUsize = AtomicUsize::new(524_288);

pub fn before_op(op: &str) {
    #[cfg(feature = "fault-injection")]
    super::fault_injection::panic_in_run();
    let depthwise = op == crate::ops::DEPTHWISE || op == "DepthWiseConv";
    let gate = if depthwise { &DEPTHWISE_ELEMENTS } else { &OTHER_ELEMENTS };
    set_threading_element_threshold(gate.load(Relaxed));
}

/// Set by the panic hook: a thread panicked (with `panic = abort`, that thread's instance is
/// dead: the run it was part of never ends).
static PANICKED: AtomicBool = AtomicBool::new(false);
/// Taken to check a run's state, notified when it ends or a thread panics.
static RUN_STATE: Mutex<()> = Mutex::new(());
static RUN_CHANGED: Condvar = Condvar::new();

/// Network runs go to one of the pool's threads while the calling worker waits: each operator's
/// split then keeps that thread working and wakes one other, instead of waking the pool and
/// then the caller again (the threads build's browser profile of EfficientNet-Lite0 at 2 threads:
/// 24.1 ms per run against 33.5).
///
/// A panic on a pool thread (a bug, or memory running out) traps that Web Worker, whose error
/// the waiting worker cannot see; so the wait also ends when the panic hook reports one, and the
/// caller then panics too: its trap is what the worker reports as a crash (www/lib/worker.js),
/// and the page restarts the worker. Returning instead would free what the run still borrows.
pub fn run_on_pool(run: &mut (dyn FnMut() + Send)) {
    let done = AtomicBool::new(false);
    // Safety: the job borrows `run` and `done` from this frame, which outlives it: this function
    // returns only once the job has set `done`, and otherwise never (it panics, and a panic
    // aborts the whole instance).
    let job: &'static mut (dyn FnMut() + Send) = unsafe { std::mem::transmute(run) };
    let done_flag: &'static AtomicBool = unsafe { &*(&done as *const AtomicBool) };
    rayon::spawn(move || {
        job();
        let _state = RUN_STATE.lock();
        done_flag.store(true, SeqCst);
        RUN_CHANGED.notify_all();
    });
    let mut state = RUN_STATE.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if done.load(SeqCst) {
            return;
        }
        if PANICKED.load(SeqCst) {
            drop(state);
            panic!("a thread of the pool crashed during the run");
        }
        // The timeout covers a panic hook's notification that raced with this check (the hook
        // does not take the lock: the panicking thread may hold it).
        state = RUN_CHANGED.wait_timeout(state, Duration::from_millis(50)).unwrap_or_else(|e| e.into_inner()).0;
    }
}

/// Installs, once, a panic hook (before the existing one, which logs the message) that wakes
/// runs waiting in `run_on_pool`.
pub fn report_panics_to_waiting_runs() {
    static INSTALLED: Once = Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICKED.store(true, SeqCst);
            RUN_CHANGED.notify_all();
            previous(info);
        }));
    });
}
