//! A URL query string read as `URLSearchParams` reads it (`+` is a space, `%XX` a byte, the first
//! of repeated keys wins), in plain Rust so the codec runs and is tested natively.

/// The decoded key–value pairs of a query, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query(Vec<(String, String)>);

/// `+` as a space and `%XX` as the byte it names; malformed escapes stay as written, and bytes
/// that are not UTF-8 become U+FFFD.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Query {
    /// Parse `query`, with or without its leading `?`.
    pub fn parse(query: &str) -> Self {
        let query = query.strip_prefix('?').unwrap_or(query);
        Self(
            query
                .split('&')
                .filter(|pair| !pair.is_empty())
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) => (decode(k), decode(v)),
                    None => (decode(pair), String::new()),
                })
                .collect(),
        )
    }

    /// The value of `key` passed through `check`; a refused value is reported through `warn` as
    /// "ignored KEY: why" and dropped.
    pub fn checked<T>(
        &self,
        key: &str,
        check: impl FnOnce(&str) -> Result<T, String>,
        warn: &mut impl FnMut(String),
    ) -> Option<T> {
        match check(self.get(key)?) {
            Ok(value) => Some(value),
            Err(e) => {
                warn(format!("ignored {key}: {e}"));
                None
            }
        }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// `value` escaped for a query (everything but unreserved characters and `,`).
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b',' | b':' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_as_url_search_params() {
        let q = Query::parse("?a=1&b=x+y&c=%3Cscript%3E&a=2&flag&bad=%zz&end=%4");
        assert_eq!(q.get("a"), Some("1"));
        assert_eq!(q.get("b"), Some("x y"));
        assert_eq!(q.get("c"), Some("<script>"));
        assert_eq!(q.get("flag"), Some(""));
        assert_eq!(q.get("bad"), Some("%zz"));
        assert_eq!(q.get("end"), Some("%4"));
        assert_eq!(q.get("missing"), None);
        assert_eq!(Query::parse("").get("a"), None);
        assert_eq!(Query::parse("x=%FF").get("x"), Some("\u{FFFD}"));
    }

    #[test]
    fn encoding_round_trips() {
        for value in ["mnist-small-cnn", "a b&c=d", "σ=0.25", "quantize:8", "1,2"] {
            let q = Query::parse(&format!("v={}", encode(value)));
            assert_eq!(q.get("v"), Some(value));
        }
    }
}
