//! The shard threads' priority (nice value or `SCHED_FIFO`) and CPU-time readings.

use std::time::Duration;

/// Sets the calling thread's nice value.
pub(crate) fn set_thread_nice(nice: i32) -> std::io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // On Linux a nice value belongs to a thread, and a thread id names one.
        Ok(rustix::process::setpriority_process(
            Some(rustix::thread::gettid()),
            nice,
        )?)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = nice;
        Err(std::io::Error::other(
            "thread priorities are set on Linux only",
        ))
    }
}

/// The calling thread's nice value; `None` where it is not read.
pub(crate) fn thread_nice() -> Option<i32> {
    #[cfg(target_os = "linux")]
    {
        rustix::process::getpriority_process(Some(rustix::thread::gettid())).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Moves the calling thread to `SCHED_FIFO` at the lowest real-time priority. Threads it starts
/// afterwards inherit the policy.
pub(crate) fn set_thread_realtime() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            RealtimeThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
            set_thread_priority_and_policy, thread_native_id,
        };
        set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Min,
            ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
        )
        .map_err(|e| format!("{e:?}"))
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err("real-time shard threads are supported on Linux only".into())
    }
}

/// CPU time this thread has used so far; `None` where it is not measured.
pub(crate) fn thread_cpu_time() -> Option<Duration> {
    #[cfg(target_os = "linux")]
    {
        let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
        Some(Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}
