//! Server-to-client WebSocket frames (RFC 6455 §5.2), encoded once: a frame is a `Bytes`
//! buffer with its header, written as it is to every socket that gets it. Server frames
//! are never masked and never fragmented here.

use bytes::{BufMut, Bytes, BytesMut};

const FIN: u8 = 0x80;
const TEXT: u8 = 0x1;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// A text frame carrying `payload` (UTF-8 JSON here).
pub fn text(payload: &[u8]) -> Bytes {
    encode(TEXT, payload)
}

/// A ping with an empty body.
pub fn ping() -> Bytes {
    Bytes::from_static(&[FIN | PING, 0])
}

/// The pong answering a client's ping (control frames carry at most 125 bytes).
pub fn pong(payload: &[u8]) -> Bytes {
    encode(PONG, &payload[..payload.len().min(125)])
}

/// A close frame with a status code (1000 normal, 1002 protocol error, 1008 policy,
/// 1009 too big, 1011 server error).
pub fn close(code: u16) -> Bytes {
    encode(CLOSE, &code.to_be_bytes())
}

fn encode(opcode: u8, payload: &[u8]) -> Bytes {
    let len = payload.len();
    let mut b = BytesMut::with_capacity(len + 10);
    b.put_u8(FIN | opcode);
    if len < 126 {
        b.put_u8(len as u8);
    } else if len <= usize::from(u16::MAX) {
        b.put_u8(126);
        b.put_u16(len as u16);
    } else {
        b.put_u8(127);
        b.put_u64(len as u64);
    }
    b.put_slice(payload);
    b.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_codec::Decoder;
    use actix_http::ws::{Codec, Frame};

    /// Decode as a client would (actix-http's codec in client mode: unmasked frames).
    fn decode(bytes: &Bytes) -> Frame {
        let mut buf = BytesMut::from(&bytes[..]);
        let mut codec = Codec::new().client_mode().max_size(1 << 20);
        let frame = codec.decode(&mut buf).unwrap().unwrap();
        assert!(buf.is_empty(), "the frame is exactly its bytes");
        frame
    }

    #[test]
    fn text_frames_of_every_length_class_decode_to_their_payload() {
        for len in [0usize, 1, 125, 126, 127, 65_535, 65_536, 200_000] {
            let payload = "x".repeat(len);
            match decode(&text(payload.as_bytes())) {
                Frame::Text(t) => assert_eq!(t.len(), len),
                other => panic!("{len}: {other:?}"),
            }
        }
    }

    #[test]
    fn control_frames_decode() {
        assert!(matches!(decode(&ping()), Frame::Ping(p) if p.is_empty()));
        assert!(matches!(decode(&pong(b"hi")), Frame::Pong(p) if &p[..] == b"hi"));
        match decode(&close(1008)) {
            Frame::Close(Some(r)) => assert_eq!(u16::from(r.code), 1008),
            other => panic!("{other:?}"),
        }
    }
}
