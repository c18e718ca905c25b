//! A tiny matcher for the subset of ECMA-262 regular expressions that Swagger `pattern`
//! keywords use in practice: an anchored (`^...$`) sequence of character classes, escapes,
//! `.` and literal characters, each with an optional quantifier.
//!
//! Anything outside that subset (groups, alternation, back-references, unanchored patterns)
//! makes [`Pattern::parse`] return `None`, and the caller then skips the check: a validator
//! must never report a false error because it did not understand a pattern.

/// One inclusive range of characters inside a class.
type Range = (char, char);

/// A single-character matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    /// `.`: any character except a line terminator.
    Any,
    /// A character class; a literal character is a class with one one-character range.
    Class { negated: bool, ranges: Vec<Range> },
}

impl Atom {
    fn matches(&self, c: char) -> bool {
        match self {
            Atom::Any => !matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}'),
            Atom::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

/// An atom with its repetition bounds (`max == None` means unbounded).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    atom: Atom,
    min: usize,
    max: Option<usize>,
}

/// A parsed pattern of the supported subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    pieces: Vec<Piece>,
}

/// What one escape sequence stands for.
enum Escaped {
    Char(char),
    Set(Vec<Range>),
}

const DIGITS: &[Range] = &[('0', '9')];
const WORD: &[Range] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
const SPACE: &[Range] = &[
    ('\t', '\r'),
    (' ', ' '),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
    ('\u{feff}', '\u{feff}'),
];

impl Pattern {
    /// Parses `src`, or returns `None` when it uses syntax outside the supported subset.
    pub(crate) fn parse(src: &str) -> Option<Pattern> {
        let chars: Vec<char> = src.chars().collect();
        // Only fully anchored patterns are supported: an unanchored pattern is a search, and
        // the patterns in real descriptions are anchored anyway.
        if chars.first() != Some(&'^') || chars.last() != Some(&'$') || chars.len() < 2 {
            return None;
        }
        let body = &chars[1..chars.len() - 1];
        // `\$` at the end would be an escaped dollar, not an anchor.
        let trailing_backslashes = body.iter().rev().take_while(|&&c| c == '\\').count();
        if trailing_backslashes % 2 == 1 {
            return None;
        }
        let mut pieces = Vec::new();
        let mut i = 0;
        while i < body.len() {
            let (atom, next) = parse_atom(body, i)?;
            let (min, max, next) = parse_quantifier(body, next)?;
            pieces.push(Piece { atom, min, max });
            i = next;
        }
        Some(Pattern { pieces })
    }

    /// Whether the whole of `s` matches.
    pub(crate) fn is_match(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        match_from(&self.pieces, &chars)
    }
}

/// Backtracking match of `pieces` against all of `input`.
fn match_from(pieces: &[Piece], input: &[char]) -> bool {
    let Some((piece, rest)) = pieces.split_first() else {
        return input.is_empty();
    };
    let limit = piece.max.unwrap_or(usize::MAX).min(input.len());
    let available = input
        .iter()
        .take(limit)
        .take_while(|&&c| piece.atom.matches(c))
        .count();
    if available < piece.min {
        return false;
    }
    // Greedy first, as ECMAScript does; for a full match the order only affects speed.
    (piece.min..=available)
        .rev()
        .any(|taken| match_from(rest, &input[taken..]))
}

fn parse_atom(body: &[char], i: usize) -> Option<(Atom, usize)> {
    match body[i] {
        '[' => parse_class(body, i + 1),
        '\\' => {
            let (escaped, next) = parse_escape(body, i + 1)?;
            let ranges = match escaped {
                Escaped::Char(c) => vec![(c, c)],
                Escaped::Set(set) => set,
            };
            Some((
                Atom::Class {
                    negated: false,
                    ranges,
                },
                next,
            ))
        }
        '.' => Some((Atom::Any, i + 1)),
        '(' | ')' | '|' | '*' | '+' | '?' | '{' | '}' | ']' | '^' | '$' => None,
        c => Some((
            Atom::Class {
                negated: false,
                ranges: vec![(c, c)],
            },
            i + 1,
        )),
    }
}

/// Parses a class body starting just after `[`; returns the atom and the index after `]`.
fn parse_class(body: &[char], mut i: usize) -> Option<(Atom, usize)> {
    let negated = body.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    // `[]` and `[^]` have special meanings in ECMAScript; not worth supporting.
    if body.get(i) == Some(&']') {
        return None;
    }
    let mut ranges = Vec::new();
    loop {
        let (first, next) = parse_class_item(body, i)?;
        i = next;
        let is_range = body.get(i) == Some(&'-') && body.get(i + 1).is_some_and(|&c| c != ']');
        match (first, is_range) {
            (Escaped::Char(lo), true) => {
                let (second, next) = parse_class_item(body, i + 1)?;
                i = next;
                // A range with a set at either end (`\d-z`) is legacy syntax; skip it.
                let Escaped::Char(hi) = second else {
                    return None;
                };
                if hi < lo {
                    return None;
                }
                ranges.push((lo, hi));
            }
            (Escaped::Char(c), false) => ranges.push((c, c)),
            (Escaped::Set(_), true) => return None,
            (Escaped::Set(set), false) => ranges.extend(set),
        }
        if body.get(i) == Some(&']') {
            return Some((Atom::Class { negated, ranges }, i + 1));
        }
    }
}

fn parse_class_item(body: &[char], i: usize) -> Option<(Escaped, usize)> {
    match body.get(i)? {
        '\\' => parse_escape(body, i + 1),
        '[' => None,
        &c => Some((Escaped::Char(c), i + 1)),
    }
}

/// Parses an escape starting just after the backslash.
fn parse_escape(body: &[char], i: usize) -> Option<(Escaped, usize)> {
    let c = *body.get(i)?;
    let simple = |ch: char| Some((Escaped::Char(ch), i + 1));
    match c {
        // `\xHH` takes exactly two hex digits and `\uHHHH` exactly four, as in ECMAScript
        // (non-Unicode mode), .NET and Rust's regex: so `\u10000` is `\u1000` then `0`.
        'x' => hex_char(body, i + 1, 2),
        'u' => hex_char(body, i + 1, 4),
        't' => simple('\t'),
        'n' => simple('\n'),
        'r' => simple('\r'),
        'f' => simple('\u{c}'),
        'v' => simple('\u{b}'),
        '0' if !body.get(i + 1).is_some_and(char::is_ascii_digit) => simple('\0'),
        'd' => Some((Escaped::Set(DIGITS.to_vec()), i + 1)),
        'w' => Some((Escaped::Set(WORD.to_vec()), i + 1)),
        's' => Some((Escaped::Set(SPACE.to_vec()), i + 1)),
        // Identity escapes of punctuation are literal; letters and digits left over are
        // features we do not support (\b, \D, back-references, ...).
        c if !c.is_alphanumeric() => simple(c),
        _ => None,
    }
}

fn hex_char(body: &[char], i: usize, digits: usize) -> Option<(Escaped, usize)> {
    let text: String = body.get(i..i + digits)?.iter().collect();
    if !text.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    // A lone surrogate (\uD800-\uDFFF) is not a Rust char: such patterns are unsupported.
    let c = char::from_u32(u32::from_str_radix(&text, 16).ok()?)?;
    Some((Escaped::Char(c), i + digits))
}

/// Parses an optional quantifier at `i`; returns `(min, max, next index)`.
fn parse_quantifier(body: &[char], i: usize) -> Option<(usize, Option<usize>, usize)> {
    let (min, max, mut next) = match body.get(i) {
        Some('*') => (0, None, i + 1),
        Some('+') => (1, None, i + 1),
        Some('?') => (0, Some(1), i + 1),
        Some('{') => {
            let close = i + body[i..].iter().position(|&c| c == '}')?;
            let inner: String = body[i + 1..close].iter().collect();
            let (min, max) = match inner.split_once(',') {
                None => {
                    let n = inner.parse().ok()?;
                    (n, Some(n))
                }
                Some((lo, "")) => (lo.parse().ok()?, None),
                Some((lo, hi)) => (lo.parse().ok()?, Some(hi.parse().ok()?)),
            };
            if max.is_some_and(|m| m < min) {
                return None;
            }
            (min, max, close + 1)
        }
        _ => return Some((1, Some(1), i)),
    };
    // A lazy marker changes nothing for a whole-string match.
    if body.get(next) == Some(&'?') {
        next += 1;
    }
    Some((min, max, next))
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    /// The table-name pattern of Microsoft's Power BI description, as JSON decodes it.
    const TABLE_NAME: &str = r"^[\x09\x0A\x0D\x20\x23\x2D\x30-\x39\x40-\x5A\x5E-\x5F\x61-\x7A\x7E-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]{1,100}$";

    #[test]
    fn table_name_pattern_is_understood() {
        let p = Pattern::parse(TABLE_NAME).expect("supported");
        assert!(p.is_match("Product"));
        assert!(p.is_match("My Table #2 @x ^y ~z"));
        assert!(p.is_match("Année"));
        // Characters outside the class.
        assert!(!p.is_match("Sales.2024"));
        assert!(!p.is_match("a/b"));
        assert!(!p.is_match("50%"));
        assert!(!p.is_match("Q&A"));
        // Length bounds.
        assert!(!p.is_match(""));
        assert!(p.is_match(&"a".repeat(100)));
        assert!(!p.is_match(&"a".repeat(101)));
    }

    #[test]
    fn u_escape_takes_exactly_four_digits() {
        // `\u10000-\u10FFFF` reads as `\u1000`, `0-\u10FF`, `F`, `F`: so `[` (0x5B),
        // which the intended range list leaves out, is admitted by `0-\u10FF`.
        let p = Pattern::parse(TABLE_NAME).unwrap();
        assert!(p.is_match("a[b]"));
        // An astral character is in no range of the class (read either way).
        assert!(!p.is_match("x\u{1F600}"));
    }

    #[test]
    fn quantifiers_and_literals() {
        let p = Pattern::parse(r"^ab?c{2,3}\d+x*$").unwrap();
        assert!(p.is_match("acc1"));
        assert!(p.is_match("abccc12xx"));
        assert!(!p.is_match("abc1"));
        assert!(!p.is_match("abcccc1"));
        assert!(!p.is_match("acc"));
        let neg = Pattern::parse(r"^[^a-c]+$").unwrap();
        assert!(neg.is_match("xyz"));
        assert!(!neg.is_match("xbz"));
        let dot = Pattern::parse(r"^.{2}$").unwrap();
        assert!(dot.is_match("é!"));
        assert!(!dot.is_match("a\n"));
    }

    #[test]
    fn unsupported_syntax_is_rejected() {
        for src in [
            "abc",
            "^abc",
            "^(a|b)$",
            r"^a\$",
            r"^\bx$",
            "^[]$",
            "^[z-a]$",
            r"^[\d-z]$",
        ] {
            assert_eq!(Pattern::parse(src), None, "{src}");
        }
    }
}
