//! The API's times: `YYYY-MM-DD HH:MM:SS` in UTC (`AddTime`, `ModTime`, `StartTime`, …).

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn datetime(secs: u64) -> String {
    let (y, mo, d) = crate::tc3::civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Parses `YYYY-MM-DD HH:MM:SS` (UTC) to Unix seconds.
pub fn parse_datetime(s: &str) -> Option<u64> {
    let (date, time) = s.trim().split_once(' ')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, mo, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, sec) = (t.next()??, t.next()??, t.next()??);
    if d.next().is_some()
        || t.next().is_some()
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&day)
        || !(0..24).contains(&h)
        || !(0..60).contains(&mi)
        || !(0..61).contains(&sec)
    {
        return None;
    }
    // Days from civil (the inverse of tc3::civil_from_days).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + mi * 60 + sec).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn datetimes_round_trip() {
        for t in [0u64, 1_551_113_065, 951_782_400, 4_107_542_399] {
            assert_eq!(parse_datetime(&datetime(t)), Some(t), "{t}");
        }
        assert_eq!(datetime(1_551_113_065), "2019-02-25 16:44:25");
        assert_eq!(parse_datetime("2019-02-25"), None);
        assert_eq!(parse_datetime("2019-13-25 00:00:00"), None);
    }
}
