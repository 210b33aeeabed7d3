//! Dates on the wire: Authing's v1 API sends JavaScript `Date.toString()` strings in China
//! Standard Time, e.g. `Tue Oct 17 2017 21:02:01 GMT+0800 (CST)`. The store keeps Unix seconds.

use jiff::Timestamp;
use jiff::tz::{TimeZone, offset};

/// `new Date('0')` in V8 is 2000-01-01 00:00:00 local time; the official SDK's `logout` relies
/// on it (it sets `tokenExpiredAt: '0'` and expects `Sat Jan 01 2000 00:00:00 GMT+0800 (CST)`).
const YEAR_2000_CST: i64 = 946_656_000;

/// Formats Unix seconds as `Date.toString()` does in CST.
pub fn js_date(seconds: i64) -> String {
    match Timestamp::from_second(seconds) {
        Ok(timestamp) => timestamp
            .to_zoned_datetime(TimeZone::fixed(offset(8)))
            .strftime("%a %b %d %Y %H:%M:%S GMT+0800 (CST)")
            .to_string(),
        Err(_) => "Invalid Date".to_string(),
    }
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
    fn parses_what_it_formats() {
        assert_eq!(parse_date(&js_date(1_508_245_321)), Some(1_508_245_321));
        assert_eq!(parse_date("0"), Some(YEAR_2000_CST));
        assert_eq!(parse_date("2017-10-17T13:02:01Z"), Some(1_508_245_321));
        assert_eq!(parse_date("yesterday"), None);
    }
}
