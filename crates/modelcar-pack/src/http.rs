//! The HTTP setup both registry clients share (pull in `fetch.rs`, push in `registry.rs`):
//! one agent configuration, and statuses of 400 and up turned into errors to match on.

use crate::error::Result;
use std::io::Read;
use std::time::Duration;
use ureq::config::RedirectAuthHeaders;

pub type Response = ureq::http::Response<ureq::Body>;

/// Each connection's receive and send buffer. A blob's bytes come off the socket into it, so
/// it sets the size of each recv (and of each send of an upload). ureq 2 read through an 8 KiB
/// buffer: 264k recvs for a 2 GiB pull, and that system time kept `unpack` from disk speed.
/// Larger is not better: at 1 MiB (with 1 MiB writes) unpack took twice the system time,
/// likely as the bytes leave the CPU cache between the recv, the SHA-256 and the write (README).
/// 128 KiB is also ureq 3's default; it is set here so that it stays a choice.
const BUFFER: usize = 128 << 10;

/// How long a connection (TCP and TLS handshake) may take.
pub const CONNECT: Duration = Duration::from_secs(15);

/// An agent for one registry; `idle` bounds each socket read and write (a stalled registry
/// fails instead of hanging), not the whole transfer.
pub fn agent(idle: Duration) -> Result<ureq::Agent> {
    let config = ureq::Agent::config_builder()
        .tls_config(crate::tls::config()?)
        // Statuses are ours to report, with the registry's own words from the body.
        .http_status_as_error(false)
        // No proxy from the environment (ureq 3 would read it; nothing here is tested with one).
        .proxy(None)
        .max_redirects(5)
        // Blob GETs are redirected to object storage: the registry's token stays behind.
        .redirect_auth_headers(RedirectAuthHeaders::Never)
        .timeout_connect(Some(CONNECT))
        .timeout_per_read(Some(idle))
        .timeout_per_write(Some(idle))
        .input_buffer_size(BUFFER)
        .output_buffer_size(BUFFER)
        .build();
    Ok(config.new_agent())
}

/// A failed request: the registry answered with an error status, or it could not be reached.
pub enum Failed {
    Status(u16, Box<Response>),
    Transport(ureq::Error),
}

/// Sorts a request's outcome into a response (below 400) or a [`Failed`].
pub trait Checked {
    fn checked(self) -> std::result::Result<Response, Failed>;
}

impl Checked for std::result::Result<Response, ureq::Error> {
    fn checked(self) -> std::result::Result<Response, Failed> {
        match self {
            Ok(r) if r.status().as_u16() >= 400 => {
                Err(Failed::Status(r.status().as_u16(), r.into()))
            }
            Ok(r) => Ok(r),
            Err(e) => Err(Failed::Transport(e)),
        }
    }
}

/// A response header as text (None when absent or not ASCII).
pub fn header<'a>(r: &'a Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The body as a stream.
pub fn reader(r: Response) -> ureq::BodyReader<'static> {
    r.into_body().into_reader()
}

/// The start of an error response's body, for the message.
pub fn body_start(r: Response) -> String {
    let mut b = Vec::new();
    let _ = reader(r).take(4096).read_to_end(&mut b);
    String::from_utf8_lossy(&b).chars().take(300).collect()
}
