//! The subset of OData `$filter` that `GET /groups` understands.
//!
//! Supported: `name eq 'x'`, `name ne 'x'`, `contains(name,'x')`, `startswith(name,'x')`,
//! `endswith(name,'x')`, combined with `and`, `or`, `not` and parentheses. String literals
//! use single quotes, a quote doubled inside. Comparisons ignore case (Power BI names are
//! unique ignoring case). Anything else is rejected, so a test never passes on a filter the
//! emulator silently ignored.

/// A parsed filter over a group's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Filter {
    Eq(String),
    Ne(String),
    Contains(String),
    StartsWith(String),
    EndsWith(String),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

impl Filter {
    /// Whether a group named `name` passes.
    pub fn matches(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        self.eval(&name)
    }

    fn eval(&self, name: &str) -> bool {
        match self {
            Filter::Eq(v) => name == v.to_lowercase(),
            Filter::Ne(v) => name != v.to_lowercase(),
            Filter::Contains(v) => name.contains(&v.to_lowercase()),
            Filter::StartsWith(v) => name.starts_with(&v.to_lowercase()),
            Filter::EndsWith(v) => name.ends_with(&v.to_lowercase()),
            Filter::And(a, b) => a.eval(name) && b.eval(name),
            Filter::Or(a, b) => a.eval(name) || b.eval(name),
            Filter::Not(a) => !a.eval(name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Ident(String),
    Str(String),
    Open,
    Close,
    Comma,
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ',' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    _ => Token::Comma,
                });
            }
            '\'' => {
                chars.next();
                let mut lit = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated string literal".to_owned()),
                        Some('\'') if chars.peek() == Some(&'\'') => {
                            chars.next();
                            lit.push('\'');
                        }
                        Some('\'') => break,
                        Some(ch) => lit.push(ch),
                    }
                }
                out.push(Token::Str(lit));
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut id = String::new();
                while let Some(&ch) = chars.peek() {
                    if ch.is_alphanumeric() || ch == '_' {
                        id.push(ch);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Ident(id));
            }
            other => return Err(format!("unexpected character '{other}'")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek_ident(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Ident(id)) if id.eq_ignore_ascii_case(word))
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn expect(&mut self, want: &Token, what: &str) -> Result<(), String> {
        match self.next() {
            Some(t) if &t == want => Ok(()),
            _ => Err(format!("expected {what}")),
        }
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut left = self.and()?;
        while self.peek_ident("or") {
            self.pos += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut left = self.unary()?;
        while self.peek_ident("and") {
            self.pos += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, String> {
        if self.peek_ident("not") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                self.expect(&Token::Close, "')'")?;
                Ok(inner)
            }
            Some(Token::Ident(id)) if id == "name" => {
                let op = match self.next() {
                    Some(Token::Ident(op)) => op,
                    _ => return Err("expected 'eq' or 'ne' after name".to_owned()),
                };
                let lit = self.literal()?;
                match op.as_str() {
                    "eq" => Ok(Filter::Eq(lit)),
                    "ne" => Ok(Filter::Ne(lit)),
                    _ => Err(format!("unsupported operator '{op}'")),
                }
            }
            Some(Token::Ident(func)) => {
                self.expect(&Token::Open, "'(' after a function name")?;
                match self.next() {
                    Some(Token::Ident(f)) if f == "name" => {}
                    _ => return Err("only the 'name' property can be filtered".to_owned()),
                }
                self.expect(&Token::Comma, "','")?;
                let lit = self.literal()?;
                self.expect(&Token::Close, "')'")?;
                match func.as_str() {
                    "contains" => Ok(Filter::Contains(lit)),
                    "startswith" => Ok(Filter::StartsWith(lit)),
                    "endswith" => Ok(Filter::EndsWith(lit)),
                    _ => Err(format!("unsupported function '{func}'")),
                }
            }
            _ => Err("expected a condition".to_owned()),
        }
    }

    fn literal(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Token::Str(s)) => Ok(s),
            _ => Err("expected a string literal in single quotes".to_owned()),
        }
    }
}

/// Parses a `$filter` value.
pub(crate) fn parse(s: &str) -> Result<Filter, String> {
    let mut p = Parser {
        tokens: tokenize(s)?,
        pos: 0,
    };
    let f = p.or()?;
    if p.pos < p.tokens.len() {
        return Err("unexpected text after the condition".to_owned());
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_matches() {
        let f = parse("contains(name,'marketing') or name eq 'contoso'").unwrap();
        assert!(f.matches("Marketing group"));
        assert!(f.matches("contoso"));
        assert!(!f.matches("sample group"));
        let f = parse("not (startswith(name,'a') and endswith(name, 'z'))").unwrap();
        assert!(!f.matches("abcz"));
        assert!(f.matches("abc"));
        assert_eq!(parse("name eq 'it''s'").unwrap(), Filter::Eq("it's".into()));
    }

    #[test]
    fn rejects_unsupported() {
        for bad in [
            "",
            "name gt 'a'",
            "id eq 'x'",
            "name eq 'x",
            "name eq 'x' junk",
            "isReadOnly eq false",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
