//! The compressed forms of a file browsers load, written once and sent many times: the
//! runtime's files (`cargo xtask build` writes them beside each file in `pkg/`) and the
//! compiled configs (kelisim-server sends them, `config build` writes them beside each file).
//! Both at their encoder's best setting, since the cost is paid once per file and the saving
//! on every visit.

use std::io::Write;

/// `bytes` in the gzip format, which every browser and every server that sends precompressed
/// files understands, written by zopfli: its exhaustive search finds a shorter encoding of the
/// same bytes than `gzip -9`.
pub fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    zopfli::compress(
        zopfli::Options::default(),
        zopfli::Format::Gzip,
        bytes,
        &mut out,
    )?;
    Ok(out)
}

/// `bytes` compressed by brotli at its best quality (11) and a 4 MB window.
pub fn brotli(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        writer.write_all(bytes)?;
        // Dropping the writer finishes the stream (a flush first would add a block).
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    #[test]
    fn both_forms_give_back_the_bytes_and_are_smaller() {
        let bytes = "{\"texts\":{\"title\":\"Cookie файлдары\"}}".repeat(200);
        let gzipped = super::gzip(bytes.as_bytes()).unwrap();
        let brotlied = super::brotli(bytes.as_bytes()).unwrap();
        assert!(gzipped.len() < bytes.len() / 10 && brotlied.len() < bytes.len() / 10);
        let mut unbrotlied = Vec::new();
        brotli::Decompressor::new(&brotlied[..], 4096)
            .read_to_end(&mut unbrotlied)
            .unwrap();
        assert_eq!(unbrotlied, bytes.as_bytes());
        let mut gunzipped = Vec::new();
        flate2::read::GzDecoder::new(&gzipped[..])
            .read_to_end(&mut gunzipped)
            .unwrap();
        assert_eq!(gunzipped, bytes.as_bytes());
    }
}
