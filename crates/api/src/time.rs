//! Instants as the wire writes them: the civil date and time (UTC) of seconds since the Unix
//! epoch, shared by the `X-Sdk-Date` of a signature and the RFC 3339 times of answers. Pure
//! arithmetic: it reads no clock and formats nothing.

/// A UTC date and time of day, to the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
}

/// The civil date and time of `secs` seconds since 1970-01-01T00:00:00Z (Howard Hinnant's
/// days-to-civil algorithm; valid for any `i64` day count the formats can show).
pub fn civil(secs: i64) -> Civil {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    Civil {
        year: yoe + era * 400 + i64::from(month <= 2),
        month,
        day,
        hour: rem / 3600,
        minute: (rem % 3600) / 60,
        second: rem % 60,
    }
}

#[cfg(test)]
mod tests {
    use super::{civil, Civil};

    #[test]
    fn known_instants_give_their_civil_time() {
        let c = |year, month, day, hour, minute, second| Civil {
            year,
            month,
            day,
            hour,
            minute,
            second,
        };
        assert_eq!(civil(0), c(1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), c(2000, 2, 29, 0, 0, 0));
        assert_eq!(civil(1_605_690_595), c(2020, 11, 18, 9, 9, 55));
        assert_eq!(civil(-1), c(1969, 12, 31, 23, 59, 59));
    }
}
