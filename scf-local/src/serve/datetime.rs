//! The API's times: `YYYY-MM-DD HH:MM:SS` in UTC (`AddTime`, `ModTime`, `StartTime`, …), with
//! the calendar of the `time` crate.

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// `YYYY-MM-DD HH:MM:SS` in UTC. A time after the year 9999, which no clock gives, shows as
/// that year's last second.
pub fn datetime(secs: u64) -> String {
    let t = i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .unwrap_or(PrimitiveDateTime::MAX.assume_utc());
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses `YYYY-MM-DD HH:MM:SS` (UTC, fields of any width) to Unix seconds. As the API has
/// always taken them here, a day up to 31 in any month runs on into the next month
/// (`2019-02-29` is `2019-03-01`) and second 60 is the next minute's first.
pub fn parse_datetime(s: &str) -> Option<u64> {
    let (date, time) = s.trim().split_once(' ')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, mo, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, sec) = (t.next()??, t.next()??, t.next()??);
    if d.next().is_some()
        || t.next().is_some()
        || !(1..=31).contains(&day)
        || !(0..24).contains(&h)
        || !(0..60).contains(&mi)
        || !(0..61).contains(&sec)
    {
        return None;
    }
    let month = Month::try_from(u8::try_from(mo).ok()?).ok()?;
    let first = Date::from_calendar_date(i32::try_from(y).ok()?, month, 1).ok()?;
    let t = PrimitiveDateTime::new(first, Time::MIDNIGHT)
        .assume_utc()
        .checked_add(Duration::days(day - 1))?
        .checked_add(Duration::seconds(h * 3600 + mi * 60 + sec))?;
    u64::try_from(t.unix_timestamp()).ok()
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

    #[test]
    fn days_and_seconds_run_on() {
        assert_eq!(
            parse_datetime("2019-02-29 00:00:00"),
            parse_datetime("2019-03-01 00:00:00")
        );
        assert_eq!(parse_datetime("2019-02-25 16:44:60"), Some(1_551_113_100));
        assert_eq!(parse_datetime(" 2019-2-5 1:2:3 "), Some(1_549_328_523));
        assert_eq!(parse_datetime("1969-12-31 23:59:59"), None);
        assert_eq!(datetime(u64::MAX), "9999-12-31 23:59:59");
    }
}
