//! The user data's wire form. The plan holds the plain script (its hash is
//! what plans compare); a launch template carries it gzip-compressed, which
//! cloud-init unpacks before running it. EC2 limits user data to 16 KiB
//! before its base64 encoding, so the limit applies to the compressed bytes.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

/// EC2's limit on user data, counted on the raw bytes (the gzip here)
/// before base64: "User data is limited to 16 KB, in raw form, before it is
/// base64-encoded" (EC2 User Guide, "Run commands when you launch an EC2
/// instance with user data input").
pub const MAX_USER_DATA_BYTES: usize = 16 * 1024;

/// The largest script [`decompress`] unpacks: far above anything that fits
/// the limit compressed, and a bound on what an observed template can cost.
const MAX_SCRIPT_BYTES: u64 = 1024 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The script, gzip-compressed (best compression, no name, mtime 0: the same
/// script always gives the same bytes).
pub fn compress(script: &str) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    // Writing into a Vec cannot fail: the only errors are the writer's.
    match encoder.write_all(script.as_bytes()).and_then(|()| encoder.finish()) {
        Ok(bytes) => bytes,
        Err(e) => unreachable!("gzip into memory failed: {e}"),
    }
}

/// The script in user data as a launch template holds it: gzip (what
/// [`compress`] makes) or plain text (what earlier versions wrote, and what a
/// hand-made template may hold). `None` when it is neither readable gzip nor
/// UTF-8, or unpacks to more than 1 MiB.
pub fn decompress(bytes: &[u8]) -> Option<String> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return String::from_utf8(bytes.to_vec()).ok();
    }
    let mut script = String::new();
    let read = GzDecoder::new(bytes)
        .take(MAX_SCRIPT_BYTES + 1)
        .read_to_string(&mut script)
        .ok()?;
    (read as u64 <= MAX_SCRIPT_BYTES).then_some(script)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_round_trips_and_compresses_the_same_every_time() {
        let script = "#!/usr/bin/env bash\necho hello\n".repeat(50);
        let packed = compress(&script);
        assert!(packed.starts_with(&GZIP_MAGIC));
        assert!(packed.len() < script.len() / 5, "{} bytes", packed.len());
        assert_eq!(compress(&script), packed);
        assert_eq!(decompress(&packed).as_deref(), Some(script.as_str()));
    }

    #[test]
    fn plain_user_data_reads_as_itself() {
        assert_eq!(
            decompress(b"#!/bin/sh\necho hi\n").as_deref(),
            Some("#!/bin/sh\necho hi\n")
        );
        assert_eq!(decompress(b"").as_deref(), Some(""));
    }

    #[test]
    fn unreadable_user_data_is_none() {
        assert_eq!(decompress(&[0xff, 0xfe, 0x00]), None);
        // gzip magic, then garbage
        assert_eq!(decompress(&[0x1f, 0x8b, 0x08, 0x00, 0x01]), None);
        // a truncated stream
        let packed = compress("#!/bin/sh\necho hi\n");
        assert_eq!(decompress(&packed[..packed.len() - 4]), None);
    }

    #[test]
    fn a_bomb_is_refused() {
        let big = "a".repeat(MAX_SCRIPT_BYTES as usize + 1);
        let packed = compress(&big);
        assert!(packed.len() < 4096);
        assert_eq!(decompress(&packed), None);
        let fits = "a".repeat(MAX_SCRIPT_BYTES as usize);
        assert_eq!(decompress(&compress(&fits)).map(|s| s.len()), Some(fits.len()));
    }
}
