//! Test builds only (`--features fault-injection`, see the Makefile's `pkg-faults`): images of
//! certain sizes make the wasm instance fail the way real faults do, so the browser tests can
//! check that the worker is restarted and no request is left hanging. Never in a shipped build.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

/// 7x13 pixels: a Rust panic (with `panic = abort` on wasm32, a trap that leaves the instance
/// unusable). 7x14 pixels: allocate until memory runs out (the allocator's failure aborts too).
/// 7x15 pixels, threads build: a panic on the pool thread running the network (`panic_in_run`).
pub fn trigger(width: u32, height: u32) {
    match (width, height) {
        (7, 13) => panic!("injected fault: a panic in the classifier"),
        (7, 14) => exhaust_memory(),
        (7, 15) => PANIC_IN_RUN.store(true, SeqCst),
        _ => {}
    }
}

static PANIC_IN_RUN: AtomicBool = AtomicBool::new(false);

/// Called as each operator starts (threads build: on a pool thread): panics once after a 7x15
/// image asked for it.
#[cfg_attr(not(feature = "threads"), allow(dead_code))]
pub fn panic_in_run() {
    if PANIC_IN_RUN.swap(false, SeqCst) {
        panic!("injected fault: a panic on a thread of the pool");
    }
}

fn exhaust_memory() {
    // 512 MiB blocks, touched so the memory is really committed, kept until allocation fails.
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut block = vec![0u8; 512 << 20];
        block[0] = 1;
        blocks.push(block);
        // black_box: the optimiser must not drop the allocations as unused.
        std::hint::black_box(&blocks);
    }
}
