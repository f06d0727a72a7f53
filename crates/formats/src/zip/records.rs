//! The byte layout of the ZIP records the stream writes (APPNOTE 6.3.10): local header, data
//! descriptor, central directory header, the ZIP64 end record with its locator, and the end
//! record; and the DOS date and time their headers carry.

/// Local file header signature.
pub(super) const LOCAL_HEADER: u32 = 0x0403_4b50;
/// Data descriptor signature.
pub(super) const DESCRIPTOR: u32 = 0x0807_4b50;
/// Central directory header signature.
pub(super) const CENTRAL_HEADER: u32 = 0x0201_4b50;
/// ZIP64 end of central directory record signature.
pub(super) const ZIP64_END: u32 = 0x0606_4b50;
/// ZIP64 end of central directory locator signature.
pub(super) const ZIP64_LOCATOR: u32 = 0x0706_4b50;
/// End of central directory record signature.
pub(super) const END: u32 = 0x0605_4b50;

/// A 32-bit field holding this means "see the ZIP64 field", so a value equal to it needs ZIP64.
const SENTINEL32: u64 = 0xFFFF_FFFF;
/// The same for the 16-bit entry counts of the end record.
const SENTINEL16: u64 = 0xFFFF;

/// Sizes and CRC follow the data (bit 3); the name is UTF-8 (bit 11).
const FLAGS: u16 = (1 << 3) | (1 << 11);
/// 2.0: deflate.
const VERSION_PLAIN: u16 = 20;
/// 4.5: ZIP64 fields.
const VERSION_ZIP64: u16 = 45;
/// Made on Unix (high byte 3) by a 4.5 writer: Unix so extractors apply the mode below.
const VERSION_MADE_BY: u16 = (3 << 8) | VERSION_ZIP64;
/// A regular file, `rw-r--r--`, in the Unix half of the external attributes.
const EXTERNAL_ATTRS: u32 = 0o100_644 << 16;
/// The ZIP64 extended information extra field's tag.
const ZIP64_EXTRA: u16 = 0x0001;

/// How an entry's data is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Stored = 0,
    Deflated = 8,
}

/// Whether an entry starting at `offset` is a ZIP64 entry: its offset needs the central
/// header's ZIP64 field, so its local header carries one too and its descriptor has 8-byte sizes.
/// (Sizes never decide it: the stream keeps them below the sentinel.)
pub(super) fn is_zip64(offset: u64) -> bool {
    offset >= SENTINEL32
}

/// An entry once its data is written: what its central directory header holds.
pub(super) struct Finished<'a> {
    pub name: &'a str,
    pub method: Method,
    pub time: DosTime,
    pub crc: u32,
    pub packed: u64,
    pub size: u64,
    pub offset: u64,
}

/// The local file header. CRC and sizes wait for the descriptor (bit 3): zero, or in a ZIP64
/// entry the sentinel, with zeros in a ZIP64 field that holds both sizes as APPNOTE 4.5.3 asks of
/// a local header.
pub(super) fn local_header(name: &str, method: Method, time: DosTime, offset: u64) -> Vec<u8> {
    let zip64 = is_zip64(offset);
    let mut out = Vec::with_capacity(30 + name.len() + 20);
    put32(&mut out, LOCAL_HEADER);
    put16(&mut out, if zip64 { VERSION_ZIP64 } else { VERSION_PLAIN });
    put16(&mut out, FLAGS);
    put16(&mut out, method as u16);
    put16(&mut out, time.time);
    put16(&mut out, time.date);
    put32(&mut out, 0);
    let sizes = if zip64 { SENTINEL32 as u32 } else { 0 };
    put32(&mut out, sizes);
    put32(&mut out, sizes);
    put16(&mut out, name.len() as u16);
    put16(&mut out, if zip64 { 20 } else { 0 });
    out.extend_from_slice(name.as_bytes());
    if zip64 {
        put16(&mut out, ZIP64_EXTRA);
        put16(&mut out, 16);
        put64(&mut out, 0);
        put64(&mut out, 0);
    }
    out
}

/// The data descriptor: 8-byte sizes in a ZIP64 entry, 4-byte ones otherwise.
pub(super) fn descriptor(crc: u32, packed: u64, size: u64, offset: u64, out: &mut Vec<u8>) {
    put32(out, DESCRIPTOR);
    put32(out, crc);
    if is_zip64(offset) {
        put64(out, packed);
        put64(out, size);
    } else {
        put32(out, packed as u32);
        put32(out, size as u32);
    }
}

/// Appends the entry's central directory header; a ZIP64 entry's offset goes in a ZIP64 field
/// (its sizes fit the header).
pub(super) fn central_header(e: &Finished<'_>, out: &mut Vec<u8>) {
    debug_assert!(e.size < SENTINEL32 && e.packed < SENTINEL32);
    let zip64 = is_zip64(e.offset);
    put32(out, CENTRAL_HEADER);
    put16(out, VERSION_MADE_BY);
    put16(out, if zip64 { VERSION_ZIP64 } else { VERSION_PLAIN });
    put16(out, FLAGS);
    put16(out, e.method as u16);
    put16(out, e.time.time);
    put16(out, e.time.date);
    put32(out, e.crc);
    put32(out, e.packed as u32);
    put32(out, e.size as u32);
    put16(out, e.name.len() as u16);
    put16(out, if zip64 { 12 } else { 0 });
    put16(out, 0); // comment length
    put16(out, 0); // disk number start
    put16(out, 0); // internal attributes
    put32(out, EXTERNAL_ATTRS);
    put32(out, clamp32(e.offset));
    out.extend_from_slice(e.name.as_bytes());
    if zip64 {
        put16(out, ZIP64_EXTRA);
        put16(out, 8);
        put64(out, e.offset);
    }
}

/// Appends the end records for a central directory of `entries` headers, `size` bytes long,
/// starting at `offset`: the ZIP64 record and locator first when a value overflows the classic
/// record, whose overflowing fields then hold the sentinel.
pub(super) fn end_records(entries: u64, offset: u64, size: u64, out: &mut Vec<u8>) {
    if entries >= SENTINEL16 || offset >= SENTINEL32 || size >= SENTINEL32 {
        let zip64_end = offset + size;
        put32(out, ZIP64_END);
        put64(out, 44); // the record's size after this field
        put16(out, VERSION_MADE_BY);
        put16(out, VERSION_ZIP64);
        put32(out, 0); // this disk
        put32(out, 0); // disk where the central directory starts
        put64(out, entries); // on this disk
        put64(out, entries); // in all
        put64(out, size);
        put64(out, offset);
        put32(out, ZIP64_LOCATOR);
        put32(out, 0); // disk of the ZIP64 end record
        put64(out, zip64_end);
        put32(out, 1); // disks in all
    }
    let entries = entries.min(SENTINEL16) as u16;
    put32(out, END);
    put16(out, 0);
    put16(out, 0);
    put16(out, entries);
    put16(out, entries);
    put32(out, clamp32(size));
    put32(out, clamp32(offset));
    put16(out, 0); // comment length
}

/// A modification time as a DOS date and time: local time in the format's eyes, written in UTC
/// because the server has no user's time zone; 2-second steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DosTime {
    pub time: u16,
    pub date: u16,
}

/// 1980-01-01T00:00:00Z, the first instant a DOS date holds.
const DOS_FIRST: i64 = 315_532_800;
/// 2107-12-31T23:59:58Z, the last.
const DOS_LAST: i64 = 4_354_819_198;

impl DosTime {
    /// Unix seconds, clamped into the range a DOS date holds.
    pub fn from_unix(secs: i64) -> Self {
        let secs = secs.clamp(DOS_FIRST, DOS_LAST);
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let of_day = secs.rem_euclid(86_400);
        let (hour, minute, second) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
        DosTime {
            time: ((hour << 11) | (minute << 5) | (second / 2)) as u16,
            date: (((year - 1980) << 9) | (month << 5) | day) as u16,
        }
    }
}

/// Year, month and day of a count of days since 1970-01-01 (proleptic Gregorian; H. Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn clamp32(value: u64) -> u32 {
    value.min(SENTINEL32) as u32
}

fn put16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}
