use std::io::{self, Cursor, Read};
use std::path::Path;
use std::process::Command;

use ::zip::{CompressionMethod, ZipArchive};
use serde_json::Value;

use super::*;

mod large;

/// 2024-05-06T07:08:09Z.
const MTIME: i64 = 1_714_979_289;

/// One entry to write: name, data, whether to deflate.
type Spec = (String, Vec<u8>, bool);

/// Writes `entries` feeding each one's data in `chunk`-byte pieces, checking as it goes that the
/// stream counts exactly the bytes it hands out.
fn build(entries: &[Spec], chunk: usize) -> Vec<u8> {
    let mut zip = ZipStream::new();
    let mut out = Vec::new();
    for (name, data, compress) in entries {
        out.extend(zip.start_entry(name, MTIME, *compress).unwrap());
        for piece in data.chunks(chunk) {
            out.extend(zip.write(piece).unwrap());
        }
        out.extend(zip.end_entry().unwrap());
        assert_eq!(zip.written(), out.len() as u64);
    }
    assert_eq!(zip.entries(), entries.len() as u64);
    out.extend(zip.finish().unwrap());
    out
}

/// Bytes that do not compress (xorshift).
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as u8
        })
        .collect()
}

fn text(lines: usize) -> Vec<u8> {
    (0..lines)
        .flat_map(|i| format!("{{\"source\":\"s3://bucket/images/{i:06}.jpg\",\"usage\":\"TRAIN\"}}\n").into_bytes())
        .collect()
}

fn mixed() -> Vec<Spec> {
    vec![
        ("manifest.json".into(), text(5000), true),
        ("images/a.jpg".into(), noise(300_000, 1), false),
        ("empty.txt".into(), Vec::new(), true),
        ("images/empty.png".into(), Vec::new(), false),
        (
            "données/日本語 ✓.txt".into(),
            "ünïcödé ✓\n".repeat(40).into_bytes(),
            true,
        ),
        ("noise.bin".into(), noise(100_000, 2), true),
        ("labels/a.xml".into(), b"<annotation/>\n".to_vec(), false),
    ]
}

/// Each entry as the zip crate reads it back: name, data and compression method.
fn read_back(bytes: &[u8]) -> Vec<(String, Vec<u8>, CompressionMethod)> {
    let mut archive = ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut file = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            file.read_to_end(&mut data).unwrap();
            (file.name().to_string(), data, file.compression())
        })
        .collect()
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap())
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

/// Checks the archive at `path` with Python's `zipfile`: `testzip` (every entry's data against
/// its CRC) and the listing, as `[name, size, crc, method]` rows. `None` when python3 is absent.
fn python_listing(path: &Path) -> Option<Vec<Value>> {
    const SCRIPT: &str = "import json, sys, zipfile\n\
        z = zipfile.ZipFile(sys.argv[1])\n\
        bad = z.testzip()\n\
        assert bad is None, 'bad CRC: ' + bad\n\
        print(json.dumps([[i.filename, i.file_size, i.CRC, i.compress_type] for i in z.infolist()]))\n";
    let output = match Command::new("python3").arg("-c").arg(SCRIPT).arg(path).output() {
        Ok(output) => output,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            println!(
                "python3 is not on PATH: skipping the zipfile check of {}",
                path.display()
            );
            return None;
        }
        Err(e) => panic!("running python3: {e}"),
    };
    assert!(
        output.status.success(),
        "python zipfile refused {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let listing: Value = serde_json::from_slice(&output.stdout).unwrap();
    Some(listing.as_array().unwrap().clone())
}

/// What `python_listing` should answer for `entries`.
fn expected_listing(entries: &[Spec]) -> Vec<Value> {
    entries
        .iter()
        .map(|(name, data, compress)| {
            let method = if *compress { 8 } else { 0 };
            serde_json::json!([name, data.len(), crc32fast::hash(data), method])
        })
        .collect()
}

#[test]
fn entries_read_back_with_the_zip_crate() {
    let entries = mixed();
    let bytes = build(&entries, 8192);
    let read = read_back(&bytes);
    assert_eq!(read.len(), entries.len());
    for ((name, data, compress), (read_name, read_data, method)) in entries.iter().zip(&read) {
        assert_eq!(read_name, name);
        assert!(read_data == data, "{name}: the data differs");
        let expected = if *compress {
            CompressionMethod::Deflated
        } else {
            CompressionMethod::Stored
        };
        assert_eq!(*method, expected, "{name}");
    }

    let mut archive = ZipArchive::new(Cursor::new(&bytes)).unwrap();
    let manifest = archive.by_name("manifest.json").unwrap();
    assert!(
        manifest.compressed_size() * 4 < manifest.size(),
        "text should deflate well"
    );
    assert_eq!(manifest.crc32(), crc32fast::hash(&entries[0].1));
    assert_eq!(manifest.unix_mode(), Some(0o100_644));
    drop(manifest);
    let image = archive.by_name("images/a.jpg").unwrap();
    assert_eq!((image.size(), image.compressed_size()), (300_000, 300_000));
}

#[test]
fn the_chunk_size_does_not_change_the_entries() {
    let entries: Vec<Spec> = mixed()
        .into_iter()
        .map(|(name, data, compress)| (name, data[..data.len().min(20_000)].to_vec(), compress))
        .collect();
    for chunk in [1, 7, 65_536, usize::MAX] {
        let read = read_back(&build(&entries, chunk));
        assert_eq!(read.len(), entries.len());
        for ((name, data, _), (read_name, read_data, _)) in entries.iter().zip(&read) {
            assert_eq!((read_name, read_data), (name, data), "chunks of {chunk}");
        }
    }
}

/// Walks the archive front to back the way a streaming reader does: local header, data,
/// descriptor, next local header, with the central directory only telling where data ends.
#[test]
fn local_headers_and_descriptors_are_what_streaming_readers_expect() {
    let entries = mixed();
    let bytes = build(&entries, 4096);
    let mut archive = ZipArchive::new(Cursor::new(&bytes)).unwrap();
    let mut at = 0usize;
    for (i, (name, data, compress)) in entries.iter().enumerate() {
        let file = archive.by_index(i).unwrap();
        assert_eq!(file.header_start(), at as u64, "{name}: entries follow each other");
        assert_eq!(u32_at(&bytes, at), 0x0403_4b50);
        assert_eq!(u16_at(&bytes, at + 4), 20, "version needed");
        assert_eq!(u16_at(&bytes, at + 6), 0x0808, "bit 3 and bit 11");
        assert_eq!(u16_at(&bytes, at + 8), if *compress { 8 } else { 0 });
        assert_eq!(
            &bytes[at + 14..at + 26],
            &[0; 12],
            "CRC and sizes wait for the descriptor"
        );
        assert_eq!(u16_at(&bytes, at + 26) as usize, name.len());
        assert_eq!(u16_at(&bytes, at + 28), 0, "no extra field");
        assert_eq!(&bytes[at + 30..at + 30 + name.len()], name.as_bytes());
        at += 30 + name.len() + file.compressed_size() as usize;
        assert_eq!(u32_at(&bytes, at), 0x0807_4b50, "{name}: descriptor signature");
        assert_eq!(u32_at(&bytes, at + 4), crc32fast::hash(data));
        assert_eq!(u32_at(&bytes, at + 8) as u64, file.compressed_size());
        assert_eq!(u32_at(&bytes, at + 12) as usize, data.len());
        at += 16;
    }
    assert_eq!(archive.central_directory_start(), at as u64);
    assert_eq!(u32_at(&bytes, at), 0x0201_4b50);
    let end = bytes.len() - 22;
    assert_eq!(
        u32_at(&bytes, end),
        0x0605_4b50,
        "a small archive ends with the classic record"
    );
    assert_eq!(u16_at(&bytes, end + 10) as usize, entries.len());
    assert_eq!(u32_at(&bytes, end + 16) as usize, at, "central directory offset");
    assert!(
        !bytes.windows(4).any(|w| w == 0x0606_4b50u32.to_le_bytes()),
        "no ZIP64 end record"
    );
}

#[test]
fn times_are_dos_times_in_utc_within_1980_to_2107() {
    // Unix seconds, and year, month, day, hour, minute, second as read back.
    type Case = (i64, (u16, u8, u8, u8, u8, u8));
    let cases: [Case; 6] = [
        (MTIME, (2024, 5, 6, 7, 8, 8)),
        (951_825_659, (2000, 2, 29, 12, 0, 58)),
        (315_532_800, (1980, 1, 1, 0, 0, 0)),
        (0, (1980, 1, 1, 0, 0, 0)),
        (-86_400 * 365 * 3000, (1980, 1, 1, 0, 0, 0)),
        (i64::MAX, (2107, 12, 31, 23, 59, 58)),
    ];
    let mut zip = ZipStream::new();
    let mut bytes = Vec::new();
    for (i, (secs, _)) in cases.iter().enumerate() {
        bytes.extend(zip.start_entry(&format!("{i}.txt"), *secs, false).unwrap());
        bytes.extend(zip.end_entry().unwrap());
    }
    bytes.extend(zip.finish().unwrap());
    let mut archive = ZipArchive::new(Cursor::new(&bytes)).unwrap();
    for (i, (secs, want)) in cases.iter().enumerate() {
        let t = archive.by_index(i).unwrap().last_modified().unwrap();
        let got = (t.year(), t.month(), t.day(), t.hour(), t.minute(), t.second());
        assert_eq!(got, *want, "{secs}");
    }
}

/// `count` entries holding their number, alternately stored and deflated.
fn many(count: usize) -> Vec<u8> {
    let mut zip = ZipStream::new();
    let mut bytes = Vec::new();
    for i in 0..count {
        bytes.extend(zip.start_entry(&format!("f/{i}.txt"), MTIME, i % 2 == 0).unwrap());
        bytes.extend(zip.write(i.to_string().as_bytes()).unwrap());
        bytes.extend(zip.end_entry().unwrap());
    }
    bytes.extend(zip.finish().unwrap());
    bytes
}

/// The ZIP64 end record's entry count, if the archive ends with a locator and record.
fn zip64_count(bytes: &[u8]) -> Option<u64> {
    let locator = bytes.len() - 22 - 20;
    (u32_at(bytes, locator) == 0x0706_4b50).then(|| {
        let record = u64_at(bytes, locator + 8) as usize;
        assert_eq!(record, bytes.len() - 22 - 20 - 56, "the locator points at the record");
        assert_eq!(u32_at(bytes, record), 0x0606_4b50);
        assert_eq!(u64_at(bytes, record + 24), u64_at(bytes, record + 32));
        u64_at(bytes, record + 32)
    })
}

#[test]
fn the_zip64_end_records_start_at_65535_entries() {
    let below = many(65_534);
    assert_eq!(zip64_count(&below), None);
    assert_eq!(u16_at(&below, below.len() - 12), 65_534);
    assert_eq!(ZipArchive::new(Cursor::new(&below)).unwrap().len(), 65_534);

    let at = many(65_535);
    assert_eq!(zip64_count(&at), Some(65_535));
    assert_eq!(u16_at(&at, at.len() - 12), 0xFFFF, "the classic count says: see ZIP64");
    assert_eq!(ZipArchive::new(Cursor::new(&at)).unwrap().len(), 65_535);
}

#[test]
fn seventy_thousand_entries_read_back_with_the_zip_crate_and_python() {
    let bytes = many(70_000);
    assert_eq!(zip64_count(&bytes), Some(70_000));
    let mut archive = ZipArchive::new(Cursor::new(&bytes)).unwrap();
    assert_eq!(archive.len(), 70_000);
    for i in (0..70_000).step_by(997).chain([69_999]) {
        let mut file = archive.by_index(i).unwrap();
        assert_eq!(file.name(), format!("f/{i}.txt"));
        let mut data = String::new();
        file.read_to_string(&mut data).unwrap();
        assert_eq!(data, i.to_string());
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.zip");
    std::fs::write(&path, &bytes).unwrap();
    if let Some(listing) = python_listing(&path) {
        assert_eq!(listing.len(), 70_000);
        assert_eq!(listing[69_999][0], "f/69999.txt");
        assert_eq!(listing[12_345][1], 5);
    }
}

#[test]
fn python_zipfile_reads_the_mixed_archive() {
    let entries = mixed();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mixed.zip");
    std::fs::write(&path, build(&entries, 10_000)).unwrap();
    if let Some(listing) = python_listing(&path) {
        assert_eq!(listing, expected_listing(&entries));
    }
}

#[test]
fn bad_names_are_refused_and_leave_the_stream_as_it_was() {
    let long = "a".repeat(MAX_NAME_LEN + 1);
    let refused = [
        ("", NameProblem::Empty),
        ("/etc/passwd", NameProblem::Absolute),
        ("C:/x.txt", NameProblem::Absolute),
        ("..", NameProblem::ParentSegment),
        ("a/../../b.txt", NameProblem::ParentSegment),
        ("a/..", NameProblem::ParentSegment),
        ("a\\b.txt", NameProblem::Backslash),
        ("a\0b.txt", NameProblem::Nul),
        (long.as_str(), NameProblem::TooLong),
        ("images/", NameProblem::Directory),
    ];
    let mut zip = ZipStream::new();
    for (name, problem) in refused {
        let err = zip.start_entry(name, MTIME, false).unwrap_err();
        assert_eq!(
            err,
            ZipError::BadName {
                name: name.to_string(),
                problem
            }
        );
        assert!(err.to_string().starts_with("zip entry"), "{err}");
        assert_eq!(zip.written(), 0);
    }
    assert_eq!(zip.write(b"x"), Err(ZipError::NoEntry), "no entry was left open");

    let longest = "b".repeat(MAX_NAME_LEN);
    let allowed = ["a..b/..c/d..", "./x.txt", ".hidden", longest.as_str()];
    let mut bytes = Vec::new();
    for name in allowed {
        bytes.extend(zip.start_entry(name, MTIME, true).unwrap());
        bytes.extend(zip.write(name.as_bytes()).unwrap());
        bytes.extend(zip.end_entry().unwrap());
    }
    bytes.extend(zip.finish().unwrap());
    let read = read_back(&bytes);
    let names: Vec<&str> = read.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, allowed);
}

#[test]
fn calls_out_of_order_are_refused() {
    let mut zip = ZipStream::new();
    assert_eq!(zip.write(b"x"), Err(ZipError::NoEntry));
    assert_eq!(zip.end_entry(), Err(ZipError::NoEntry));
    zip.start_entry("a.txt", MTIME, true).unwrap();
    assert_eq!(zip.start_entry("b.txt", MTIME, true), Err(ZipError::EntryOpen));
    zip.end_entry().unwrap();
    assert_eq!(zip.end_entry(), Err(ZipError::NoEntry));
    zip.start_entry("b.txt", MTIME, false).unwrap();
    assert_eq!(zip.finish(), Err(ZipError::EntryOpen));
}

#[test]
fn a_stored_write_past_the_limit_is_refused_and_the_entry_can_still_end() {
    let mut zip = ZipStream::with_limit(10);
    let mut bytes = zip.start_entry("a.bin", MTIME, false).unwrap();
    bytes.extend(zip.write(b"012345").unwrap());
    let before = zip.written();
    let refused = zip.write(b"67890");
    assert_eq!(refused, Err(ZipError::EntryTooLarge { name: "a.bin".into() }));
    assert_eq!(zip.written(), before, "nothing of the refused write was taken");
    bytes.extend(zip.write(b"6789").unwrap());
    bytes.extend(zip.end_entry().unwrap());
    bytes.extend(zip.finish().unwrap());
    let read = read_back(&bytes);
    assert_eq!(read[0].1, b"0123456789");
}

#[test]
fn a_deflated_entry_whose_output_passes_the_limit_is_broken_for_good() {
    let data = noise(1000, 3);
    let mut zip = ZipStream::with_limit(1000);
    zip.start_entry("noise.txt", MTIME, true).unwrap();
    let too_large = Err(ZipError::EntryTooLarge {
        name: "noise.txt".into(),
    });
    // Noise grows when deflated; the deflater may hold it all until the flush.
    let first = zip.write(&data);
    let failed = if first.is_err() {
        first.map(|_| ())
    } else {
        zip.end_entry().map(|_| ())
    };
    assert_eq!(failed, too_large.clone());
    assert_eq!(zip.write(b"x").map(|_| ()), too_large.clone());
    assert_eq!(zip.end_entry().map(|_| ()), too_large);
    assert_eq!(zip.finish(), Err(ZipError::EntryOpen));
}

#[test]
fn the_deflater_is_reused_across_entries() {
    let mut zip = ZipStream::new();
    let mut bytes = Vec::new();
    for i in 0..3 {
        bytes.extend(zip.start_entry(&format!("{i}.json"), MTIME, true).unwrap());
        bytes.extend(zip.write(&text(100 * (i + 1))).unwrap());
        bytes.extend(zip.end_entry().unwrap());
        assert!(zip.spare.is_some());
    }
    bytes.extend(zip.finish().unwrap());
    for (i, (_, data, _)) in read_back(&bytes).iter().enumerate() {
        assert_eq!(*data, text(100 * (i + 1)), "a reset deflater starts a fresh stream");
    }
}

#[test]
fn text_like_names_are_compressed_and_media_are_not() {
    for name in [
        "manifest.json",
        "a/b/labels.JSONL",
        "Annotations/x.xml",
        "classes.txt",
        "output.manifest",
        "obj.names",
        "obj.data",
        "train.conll",
        "a.tsv",
        "b.CSV",
    ] {
        assert!(should_compress(name), "{name}");
    }
    for name in [
        "a.jpg",
        "b.png",
        "c.wav",
        "d.mp3",
        "e.mp4",
        "json",
        "dir.json/file",
        ".txt",
        "README",
    ] {
        assert!(!should_compress(name), "{name}");
    }
}
