//! Threads build: how network runs use the pool of Web Workers (`initThreadPool`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Condvar, Mutex, Once};
use std::time::Duration;

use tract_linalg::multithread::set_threading_element_threshold;

/// Below how many output elements tract's depthwise convolutions, and its other
/// element-wise, pooling and padding ops, stay on one thread. A depthwise convolution does
/// 9 to 49 multiply-adds per element, the others one or a few, so waking the pool's Web
/// Workers pays off at very different sizes. tract has one gate for all of them, so it is set
/// before each operator runs. Since the pool's other threads spin for work during a run
/// (`run_on_pool`), a split costs little: the other ops (B packing, activations) gain from
/// 128k elements (5 rounds of 15 runs, each setting alternated: EfficientNet-Lite0 17.8-19.0
/// ms against 18.5-21.6 at 512k; PNASNet 0.70-0.72 s against 0.72-0.77 s), and depthwise
/// convolutions from 32k, once channel-last ones of few rows split by rows (vendor/README):
/// per-node medians of 8 alternated rounds in one worker (`Classifier.profile`, 2 threads),
/// EfficientNet-Lite0's depthwise time 5.2 -> 4.3 ms per image against 128k; PNASNet's (4
/// rounds) 128 -> 106 ms.
pub static DEPTHWISE_ELEMENTS: AtomicUsize = AtomicUsize::new(32_768);
pub static OTHER_ELEMENTS: AtomicUsize = AtomicUsize::new(131_072);

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
/// The pool's other threads spin for the length of the run (`spin_for_work`), taking each
/// split's share as soon as it is offered, instead of sleeping between operators and being
/// woken for every one of them (EfficientNet-Lite0 splits about 70 operators per run, each a
/// fraction of a millisecond of work). Measured in Chromium (2 cores, the two builds in one page,
/// alternated, medians of 16 rounds of 15-run medians): EfficientNet-Lite0 20.7 -> 19.3 ms per
/// run; PNASNet unchanged (0.75 s).
///
/// A panic on a pool thread (a bug, or memory running out) traps that Web Worker, whose error
/// the waiting worker cannot see; so the wait also ends when the panic hook reports one, and the
/// caller then panics too: its trap is what the worker reports as a crash (www/lib/worker.js),
/// and the page restarts the worker. Returning instead would free what the run still borrows.
pub fn run_on_pool(run: &mut (dyn FnMut() + Send)) {
    let done = AtomicBool::new(false);
    // Safety: the jobs borrow `run` and `done` from this frame, which outlives them: this
    // function returns only once the run has set `done` and every spinner has seen it and left
    // (`SPINNING` back to 0), and otherwise never (it panics, and a panic aborts the whole
    // instance).
    let job: &'static mut (dyn FnMut() + Send) = unsafe { std::mem::transmute(run) };
    let job = Mutex::new(job);
    let job: &'static Mutex<&'static mut (dyn FnMut() + Send)> = unsafe { &*(&job as *const _) };
    let done_flag: &'static AtomicBool = unsafe { &*(&done as *const AtomicBool) };
    SPINNING.store(rayon::current_num_threads().saturating_sub(1), SeqCst);
    // One job per pool thread (a broadcast, so no thread can pick up a second one while it
    // waits inside the run): the first thread runs the network, the others spin.
    rayon::spawn_broadcast(move |context| {
        if context.index() == 0 {
            (job.lock().unwrap_or_else(|e| e.into_inner()))();
            let _state = RUN_STATE.lock();
            done_flag.store(true, SeqCst);
            RUN_CHANGED.notify_all();
        } else {
            spin_for_work(done_flag);
            SPINNING.fetch_sub(1, SeqCst);
        }
    });
    let mut state = RUN_STATE.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        if PANICKED.load(SeqCst) {
            drop(state);
            panic!("a thread of the pool crashed during the run");
        }
        if done.load(SeqCst) {
            // The spinners leave as soon as they see `done` (after the share they run, if any).
            if SPINNING.load(SeqCst) == 0 {
                return;
            }
            std::hint::spin_loop();
            continue;
        }
        // The timeout covers a panic hook's notification that raced with this check (the hook
        // does not take the lock: the panicking thread may hold it).
        state = RUN_CHANGED.wait_timeout(state, Duration::from_millis(50)).unwrap_or_else(|e| e.into_inner()).0;
    }
}

/// Spinners of the current run that have not left yet.
static SPINNING: AtomicUsize = AtomicUsize::new(0);

/// Runs the pool's pending work (the shares of the run's splits) until the run is done (or a
/// thread has panicked: the run then never ends, and the worker is restarted).
fn spin_for_work(done: &AtomicBool) {
    while !done.load(SeqCst) && !PANICKED.load(SeqCst) {
        if rayon::yield_now() != Some(rayon::Yield::Executed) {
            std::hint::spin_loop();
        }
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
