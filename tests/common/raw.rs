//! Raw HTTP/2 gRPC calls (the `h2` crate), for what a tonic client will not
//! send: a deadline it does not enforce itself, streams that never read.

use std::net::SocketAddr;

use bytes::{BufMut, Bytes, BytesMut};
use h2::client::SendRequest;

/// An HTTP/2 connection; `window` is the receive window of each stream
/// (0: the server can send no data until the client reads, which it never does).
pub async fn connect(addr: SocketAddr, window: Option<u32>) -> SendRequest<Bytes> {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut b = h2::client::Builder::new();
    if let Some(w) = window {
        b.initial_window_size(w);
    }
    let (send, conn) = b.handshake(tcp).await.expect("HTTP/2 handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    send
}

/// A gRPC message frame.
pub fn frame(msg: &impl prost::Message) -> Bytes {
    let body = msg.encode_to_vec();
    let mut b = BytesMut::with_capacity(body.len() + 5);
    b.put_u8(0);
    b.put_u32(u32::try_from(body.len()).expect("small message"));
    b.put_slice(&body);
    b.freeze()
}

/// Starts a call to `path` with `meta` and sends `msg`; `end` closes the
/// caller's side. The stream is returned unread.
pub async fn start(
    send: &SendRequest<Bytes>,
    path: &str,
    msg: &impl prost::Message,
    meta: &[(&str, &str)],
    end: bool,
) -> Result<(h2::client::ResponseFuture, h2::SendStream<Bytes>), h2::Error> {
    let mut req = http::Request::post(format!("http://gateway{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (k, v) in meta {
        req = req.header(*k, *v);
    }
    let mut send = send.clone().ready().await?;
    let (resp, mut stream) = send.send_request(req.body(()).expect("request"), false)?;
    // The gateway may have answered (a refusal) and closed the stream already.
    let _ = stream.send_data(frame(msg), end);
    Ok((resp, stream))
}

/// One unary call: the answer's `grpc-status`.
pub async fn unary(
    send: &SendRequest<Bytes>,
    path: &str,
    msg: &impl prost::Message,
    meta: &[(&str, &str)],
) -> tonic::Code {
    let (resp, _stream) = start(send, path, msg, meta, true).await.expect("call starts");
    let resp = resp.await.expect("answer");
    let code = |h: &http::HeaderMap| h.get("grpc-status").map(|v| tonic::Code::from_bytes(v.as_bytes()));
    if let Some(c) = code(resp.headers()) {
        return c;
    }
    let mut body = resp.into_body();
    while let Some(d) = body.data().await {
        let d = d.expect("data");
        let _ = body.flow_control().release_capacity(d.len());
    }
    let trailers = body.trailers().await.expect("trailers").expect("trailers sent");
    code(&trailers).expect("grpc-status")
}
