//! Closed sets of words the engine and AWS use (a node's role, an
//! instance's health…) as enums: `closed_set!` writes the enum, its word
//! (`as_str`, `Display`, `Serialize` print exactly what the API sent) and its
//! parser. A set the API may grow (a node's state, an instance's lifecycle
//! state) ends in `other Other`: an unknown word is kept as
//! `Other(word)`, which no decision reads as a known good state. A truly
//! closed set has no such variant: parsing an unknown word is an
//! [`UnknownWord`] error, which the provider reports instead of guessing.
//! A utility: the vocabulary modules use it, it imports nothing.

/// A word outside a closed set: what the provider saw and what it expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownWord {
    /// What the word names, e.g. `node role`.
    pub set: &'static str,
    pub word: String,
    pub expected: &'static [&'static str],
}

impl std::fmt::Display for UnknownWord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unexpected {} `{}` (expected one of: {}); this swarmkeeper does not know it: upgrade swarmkeeper, \
             or report the value",
            self.set,
            self.word,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownWord {}

/// `closed_set! { /// doc
///     pub enum Name("what it names") { /// doc
///         Variant = "word", … } }`; for a set the API may grow,
/// `pub enum Name("what it names", other Other) { … }`.
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($set:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every word of the set, in declaration order.
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            /// The word the API uses.
            pub fn as_str(&self) -> &'static str {
                match self {
                    $( $name::$variant => $word ),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::closed_set::UnknownWord;
            fn from_str(word: &str) -> Result<Self, Self::Err> {
                match word {
                    $( $word => Ok($name::$variant), )+
                    _ => Err($crate::closed_set::UnknownWord {
                        set: $set,
                        word: word.to_owned(),
                        expected: Self::WORDS,
                    }),
                }
            }
        }

        $crate::closed_set::closed_set!(@common $name);
    };
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($set:literal, other $other:ident) {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A word this version does not know, as it came.
            $other(String),
        }

        impl $name {
            /// The known words of the set, in declaration order.
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            /// The word the API uses (an unknown one as it came).
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $word, )+
                    $name::$other(word) => word,
                }
            }

            /// The word as the API sent it: an unknown one is kept as it came.
            pub fn from_word(word: &str) -> Self {
                match word {
                    $( $word => $name::$variant, )+
                    _ => $name::$other(word.to_owned()),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(word: &str) -> Result<Self, Self::Err> {
                Ok(Self::from_word(word))
            }
        }

        $crate::closed_set::closed_set!(@common $name);
    };
    (@common $name:ident) => {
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

pub(crate) use closed_set;

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    closed_set! {
        /// A closed test set.
        pub enum Colour("colour") {
            Red = "red",
            DarkBlue = "dark-blue",
        }
    }

    closed_set! {
        /// An open test set.
        pub enum Weather("weather", other Other) {
            Sun = "Sun",
        }
    }

    #[test]
    fn words_parse_print_and_serialise_as_the_api_spells_them() {
        for (word, colour) in [("red", Colour::Red), ("dark-blue", Colour::DarkBlue)] {
            assert_eq!(Colour::from_str(word), Ok(colour));
            assert_eq!(colour.to_string(), word);
            assert_eq!(serde_json::to_value(colour).ok(), Some(serde_json::json!(word)));
        }
        assert_eq!(Colour::WORDS, &["red", "dark-blue"]);
        assert_eq!(Weather::WORDS, &["Sun"]);
        assert_eq!(Weather::from_word("Sun"), Weather::Sun);
        assert_eq!(Weather::from_word("Hail"), Weather::Other("Hail".into()));
        assert_eq!(Weather::Other("Hail".into()).to_string(), "Hail");
        assert_eq!(
            serde_json::to_value(Weather::Other("Hail".into())).ok(),
            Some(serde_json::json!("Hail"))
        );
    }

    #[test]
    fn an_unknown_word_of_a_closed_set_is_an_error_naming_it_and_what_was_expected() {
        let err = Colour::from_str("Red").expect_err("words are case-sensitive");
        assert_eq!(err.set, "colour");
        assert_eq!(err.word, "Red");
        let text = err.to_string();
        assert!(text.contains("unexpected colour `Red`"), "{text}");
        assert!(text.contains("expected one of: red, dark-blue"), "{text}");
        assert!(Colour::from_str("").is_err());
    }
}
