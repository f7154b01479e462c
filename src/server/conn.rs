//! Connection hygiene on both ports: accept loops that back off when the
//! process is out of file descriptors (and say so once), and a deadline
//! for a new gRPC connection to greet with the HTTP/2 preface.

use std::{
    future::Future,
    io,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use pin_project_lite::pin_project;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    time::Sleep,
};
use tonic::transport::server::Connected;

/// First pause after a failed accept; doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// Longest pause between accepts that fail.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// The HTTP/2 client preface, 24 bytes (RFC 9113 §3.4).
const PREFACE_LEN: usize = 24;

/// Accepts the next connection of `listener`. While accepting fails (no
/// file descriptors left: EMFILE, ENFILE), it pauses, doubling the pause
/// up to a second, instead of spinning; the first failure of a run is
/// logged (WARN), and so is the recovery.
pub(crate) async fn accept(listener: &TcpListener, name: &'static str) -> TcpStream {
    let mut backoff = None::<Duration>;
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                if backoff.is_some() {
                    tracing::warn!(listener = name, "accepting connections again");
                }
                let _ = s.set_nodelay(true);
                return s;
            }
            Err(e) => {
                let pause = match backoff {
                    None => {
                        tracing::warn!(
                            listener = name,
                            error = %e,
                            "cannot accept connections (out of file descriptors?); backing off until it can"
                        );
                        FIRST_BACKOFF
                    }
                    Some(p) => (p * 2).min(MAX_BACKOFF),
                };
                backoff = Some(pause);
                tokio::time::sleep(pause).await;
            }
        }
    }
}

pin_project! {
    /// A connection that must send its first [`PREFACE_LEN`] bytes (the
    /// HTTP/2 preface) within a deadline, or is closed (a read error).
    pub(crate) struct Greeting<T> {
        #[pin]
        inner: T,
        missing: usize,
        deadline: Pin<Box<Sleep>>,
    }
}

impl<T> Greeting<T> {
    /// `inner`, to be closed unless it greets within `timeout`.
    pub(crate) fn new(inner: T, timeout: Duration) -> Self {
        Greeting { inner, missing: PREFACE_LEN, deadline: Box::pin(tokio::time::sleep(timeout)) }
    }
}

impl<T: AsyncRead> AsyncRead for Greeting<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        if *this.missing == 0 {
            return this.inner.poll_read(cx, buf);
        }
        let before = buf.filled().len();
        match this.inner.poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                *this.missing = this.missing.saturating_sub(buf.filled().len() - before);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the connection did not send the HTTP/2 preface in time (server.handshake_timeout)",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<T: AsyncWrite> AsyncWrite for Greeting<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl<T: Connected> Connected for Greeting<T> {
    type ConnectInfo = T::ConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_does_not_greet_in_time_is_closed() {
        let (client, server) = tokio::io::duplex(64);
        let mut g = Greeting::new(server, Duration::from_secs(10));
        let mut client = client;
        client.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
        let mut buf = [0; 64];
        assert_eq!(g.read(&mut buf).await.unwrap(), 16);
        // Eight bytes of the preface are still missing when the deadline passes.
        let e = g.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_greeted_may_then_idle() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut g = Greeting::new(server, Duration::from_secs(10));
        client.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await.unwrap();
        let mut buf = [0; 64];
        assert_eq!(g.read(&mut buf).await.unwrap(), PREFACE_LEN);
        let read = tokio::spawn(async move { g.read(&mut buf).await.map(|_| ()) });
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!read.is_finished(), "a greeted connection is not timed out");
        client.write_all(b"x").await.unwrap();
        read.await.unwrap().unwrap();
    }
}
