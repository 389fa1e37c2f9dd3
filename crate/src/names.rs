//! `Display` and `FromStr` for the enums users name on the command line and in URLs, from each
//! enum's `ALL` list and `id()`, so every name is spelt in one place.

/// Implement `Display` (the id) and `FromStr` (an id of `ALL`, else an error listing them) for
/// `$ty`, describing it as `$what` in the error.
macro_rules! named_enum {
    ($ty:ty, $what:literal) => {
        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.id())
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::Error;

            fn from_str(text: &str) -> $crate::Result<Self> {
                Self::ALL
                    .into_iter()
                    .find(|v| v.id() == text)
                    .ok_or_else(|| {
                        let known: Vec<&str> = Self::ALL.iter().map(|v| v.id()).collect();
                        $crate::Error::InvalidArgument(format!(
                            concat!("unknown ", $what, " {:?}; use {}"),
                            text,
                            known.join(", ")
                        ))
                    })
            }
        }
    };
}

pub(crate) use named_enum;
