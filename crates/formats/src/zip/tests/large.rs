//! An archive past 4 GiB whose first entry is as large as an entry may be, so the entries after
//! it are ZIP64 entries. Its zeros are left as a hole in a sparse file, so the test needs no disk
//! space for them, while the readers still read them (Python checks their CRC).

use std::fs::{self, File};
use std::io::{Seek, SeekFrom, Write};

use super::*;

#[test]
fn an_archive_past_4_gib_after_an_entry_of_the_largest_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large.zip");
    let mut file = File::create(&path).unwrap();
    let mut zip = ZipStream::new();

    file.write_all(&zip.start_entry("big.bin", MTIME, false).unwrap())
        .unwrap();
    let zeros = vec![0u8; 1 << 20];
    let mut left = MAX_ENTRY_SIZE;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        let out = zip.write(&zeros[..n]).unwrap();
        assert_eq!(out.len(), n);
        file.seek(SeekFrom::Current(n as i64)).unwrap();
        left -= n as u64;
    }
    let too_large = Err(ZipError::EntryTooLarge { name: "big.bin".into() });
    assert_eq!(zip.write(&[0]), too_large);
    let descriptor = zip.end_entry().unwrap();
    assert_eq!(descriptor.len(), 16, "a classic entry, however large");
    file.write_all(&descriptor).unwrap();

    // Past 0xFFFFFFFF: local header, descriptor and central header all say ZIP64.
    let after_at = zip.written();
    assert!(after_at > 0xFFFF_FFFF);
    let after = text(300);
    let header = zip.start_entry("after.json", MTIME, true).unwrap();
    assert_eq!(u16_at(&header, 4), 45);
    assert_eq!((u32_at(&header, 18), u32_at(&header, 22)), (0xFFFF_FFFF, 0xFFFF_FFFF));
    assert_eq!(u16_at(&header, 28), 20);
    let extra = 30 + "after.json".len();
    assert_eq!((u16_at(&header, extra), u16_at(&header, extra + 2)), (1, 16));
    assert_eq!(&header[extra + 4..], &[0; 16]);
    file.write_all(&header).unwrap();
    let data = zip.write(&after).unwrap();
    file.write_all(&data).unwrap();
    let descriptor = zip.end_entry().unwrap();
    let packed = (data.len() + descriptor.len() - 24) as u64;
    let tail = &descriptor[descriptor.len() - 24..];
    assert_eq!(u32_at(tail, 0), 0x0807_4b50);
    assert_eq!(u32_at(tail, 4), crc32fast::hash(&after));
    assert_eq!((u64_at(tail, 8), u64_at(tail, 16)), (packed, after.len() as u64));
    file.write_all(&descriptor).unwrap();
    let image = noise(5000, 4);
    let third_at = zip.written();
    file.write_all(&zip.start_entry("after/c.jpg", MTIME, false).unwrap())
        .unwrap();
    file.write_all(&zip.write(&image).unwrap()).unwrap();
    file.write_all(&zip.end_entry().unwrap()).unwrap();

    let central_at = zip.written();
    let tail = zip.finish().unwrap();
    file.write_all(&tail).unwrap();
    drop(file);
    assert_eq!(fs::metadata(&path).unwrap().len(), central_at + tail.len() as u64);

    // The central directory: the large entry is classic, the ones after it have their offsets in
    // a ZIP64 field.
    assert_eq!(u16_at(&tail, 6), 20);
    assert_eq!((u32_at(&tail, 20), u32_at(&tail, 24)), (0xFFFF_FFFE, 0xFFFF_FFFE));
    assert_eq!(u16_at(&tail, 30), 0, "no extra field");
    let mut at = 46 + "big.bin".len();
    for (name, offset) in [("after.json", after_at), ("after/c.jpg", third_at)] {
        assert_eq!(u32_at(&tail, at), 0x0201_4b50);
        assert_eq!(u16_at(&tail, at + 6), 45, "{name}");
        assert_eq!(u16_at(&tail, at + 30), 12, "{name}");
        assert_eq!(u32_at(&tail, at + 42), 0xFFFF_FFFF, "{name}");
        let extra = at + 46 + name.len();
        assert_eq!((u16_at(&tail, extra), u16_at(&tail, extra + 2)), (1, 8));
        assert_eq!(u64_at(&tail, extra + 4), offset, "{name}");
        at = extra + 12;
    }
    assert_eq!(
        u32_at(&tail, at),
        0x0606_4b50,
        "the ZIP64 end record follows the directory"
    );
    assert_eq!(u64_at(&tail, at + 32), 3);
    assert_eq!(u64_at(&tail, at + 40), at as u64, "central directory size");
    assert_eq!(u64_at(&tail, at + 48), central_at);
    assert_eq!(u32_at(&tail, at + 56), 0x0706_4b50);
    assert_eq!(u64_at(&tail, at + 64), central_at + at as u64);
    assert_eq!(u16_at(&tail, tail.len() - 12), 3);
    assert_eq!(u32_at(&tail, tail.len() - 6), 0xFFFF_FFFF);

    let mut archive = ZipArchive::new(File::open(&path).unwrap()).unwrap();
    assert_eq!(archive.len(), 3);
    assert_eq!(archive.central_directory_start(), central_at);
    let big = archive.by_index(0).unwrap();
    assert_eq!((big.size(), big.compressed_size()), (MAX_ENTRY_SIZE, MAX_ENTRY_SIZE));
    drop(big);
    for (name, offset, want) in [("after.json", after_at, &after), ("after/c.jpg", third_at, &image)] {
        let mut entry = archive.by_name(name).unwrap();
        assert_eq!(entry.header_start(), offset);
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        assert!(data == *want, "{name}: the data differs");
    }

    if let Some(listing) = python_listing(&path) {
        let want = serde_json::json!([
            ["big.bin", MAX_ENTRY_SIZE, listing[0][2], 0],
            ["after.json", after.len(), crc32fast::hash(&after), 8],
            ["after/c.jpg", image.len(), crc32fast::hash(&image), 0],
        ]);
        assert_eq!(Value::Array(listing), want);
    }
}
