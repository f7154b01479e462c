//! In-process vendor emulators that speak the real wire formats, verify
//! real signatures, throttle like the vendors and inject faults on request.

pub mod alibaba;
pub mod common;
pub mod huawei;
