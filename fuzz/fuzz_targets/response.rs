//! Any bytes as a runtime API response: head parser, then the chunked decoder on the rest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scf_bootstrap::response::{parse_head, Chunked, Framing};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(head)) = parse_head(data) {
        assert!(head.len <= data.len());
        if head.framing == Framing::Chunked {
            let mut buf = data.to_vec();
            let mut dec = Chunked::new(head.len);
            if let Ok((filled, _)) = dec.decode(&mut buf, data.len()) {
                assert!(dec.decoded_end() <= filled && filled <= data.len());
            }
        }
    }
});
