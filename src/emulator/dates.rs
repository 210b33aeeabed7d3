//! Dates on the wire: Authing's v1 API sends JavaScript `Date.toString()` strings in China
//! Standard Time, e.g. `Tue Oct 17 2017 21:02:01 GMT+0800 (CST)`. The store keeps Unix seconds.

use jiff::Timestamp;
use jiff::tz::{TimeZone, offset};

/// `new Date('0')` in V8 is 2000-01-01 00:00:00 local time; the official SDK's `logout` relies
/// on it (it sets `tokenExpiredAt: '0'` and expects `Sat Jan 01 2000 00:00:00 GMT+0800 (CST)`).
const YEAR_2000_CST: i64 = 946_656_000;

/// Formats Unix seconds as `Date.toString()` does in CST.
pub fn js_date(seconds: i64) -> String {
    let Ok(timestamp) = Timestamp::from_second(seconds) else {
        return "Invalid Date".to_string();
    };
    let local = TimeZone::fixed(offset(8)).to_datetime(timestamp);
    // Written by hand: strftime reads its format string every time, and a page of 200 users
    // formats a date or more per user.
    if !(1000..=9999).contains(&local.year()) {
        return timestamp
            .to_zoned_datetime(TimeZone::fixed(offset(8)))
            .strftime("%a %b %d %Y %H:%M:%S GMT+0800 (CST)")
            .to_string();
    }
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let day = DAYS[usize::from(local.weekday().to_monday_zero_offset().unsigned_abs())];
    let month = MONTHS[usize::from(local.month().unsigned_abs()) - 1];
    format!(
        "{day} {month} {:02} {} {:02}:{:02}:{:02} GMT+0800 (CST)",
        local.day(),
        local.year(),
        local.hour(),
        local.minute(),
        local.second()
    )
}

/// Formats Unix seconds as v3 does: ISO 8601 in UTC with milliseconds,
/// `2022-07-03T03:20:30.000Z`.
pub fn iso_date(seconds: i64) -> String {
    match Timestamp::from_second(seconds) {
        Ok(timestamp) => timestamp.strftime("%Y-%m-%dT%H:%M:%S.000Z").to_string(),
        Err(_) => "1970-01-01T00:00:00.000Z".to_string(),
    }
}

/// Seconds since the Unix epoch, now.
pub fn now() -> i64 {
    Timestamp::now().as_second()
}

/// Reads a date a client sent: a `Date.toString()` string, an RFC 3339 timestamp, or `"0"`
/// (V8 reads it as the year 2000). Anything else is `None`.
pub fn parse_date(text: &str) -> Option<i64> {
    let text = text.trim();
    if text == "0" {
        return Some(YEAR_2000_CST);
    }
    if let Ok(timestamp) = text.parse::<Timestamp>() {
        return Some(timestamp.as_second());
    }
    let without_zone_name = text.split(" (").next().unwrap_or(text);
    let offset_form = without_zone_name.replace("GMT", "");
    jiff::fmt::strtime::parse("%a %b %d %Y %H:%M:%S %z", offset_form.trim())
        .ok()
        .and_then(|parsed| parsed.to_timestamp().ok())
        .map(Timestamp::as_second)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_javascript_in_cst() {
        assert_eq!(
            js_date(1_508_245_321),
            "Tue Oct 17 2017 21:02:01 GMT+0800 (CST)"
        );
        assert_eq!(
            js_date(YEAR_2000_CST),
            "Sat Jan 01 2000 00:00:00 GMT+0800 (CST)"
        );
    }

    #[test]
    fn formats_iso_in_utc() {
        assert_eq!(iso_date(1_508_245_321), "2017-10-17T13:02:01.000Z");
    }

    #[test]
    fn the_hand_written_format_is_strftime_s() {
        let strftime = |seconds: i64| {
            Timestamp::from_second(seconds)
                .expect("in range")
                .to_zoned_datetime(TimeZone::fixed(offset(8)))
                .strftime("%a %b %d %Y %H:%M:%S GMT+0800 (CST)")
                .to_string()
        };
        let mut seconds = -30_000_000_000i64;
        while seconds < 250_000_000_000 {
            assert_eq!(js_date(seconds), strftime(seconds), "{seconds}");
            seconds += 86_400 * 37 + 3_671;
        }
        for seconds in [
            0,
            946_656_000,
            1_546_272_001,
            4_102_444_800,
            -62_135_596_800,
        ] {
            assert_eq!(js_date(seconds), strftime(seconds), "{seconds}");
        }
    }

    #[test]
    fn parses_what_it_formats() {
        assert_eq!(parse_date(&js_date(1_508_245_321)), Some(1_508_245_321));
        assert_eq!(parse_date("0"), Some(YEAR_2000_CST));
        assert_eq!(parse_date("2017-10-17T13:02:01Z"), Some(1_508_245_321));
        assert_eq!(parse_date("yesterday"), None);
    }
}
