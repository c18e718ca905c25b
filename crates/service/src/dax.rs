//! A small subset of DAX for Execute Queries: a tokenizer, a recursive-descent parser into
//! a generic expression tree, and an evaluator over a dataset's tables and stored rows.
//!
//! The subset (keywords and names compare ignoring case, as in DAX):
//!
//! - statements: `EVALUATE <table> [ORDER BY <scalar> [ASC|DESC], ...]`, one or more;
//! - tables: `'Table Name'`, `TableName`, `TOPN(n, <table>[, <scalar>[, ASC|DESC|0|1], ...])`
//!   (descending unless told otherwise, ties at the n-th row all kept, as DAX does),
//!   `FILTER(<table>, <condition>)`, `ROW("Name", <scalar>, ...)`, `VALUES(<table or
//!   column>)`, `DISTINCT(<table or column>)`;
//! - scalars: numbers, `"strings"` (`""` inside is one quote), `TRUE()`, `FALSE()` (or
//!   bare `TRUE`, `FALSE`),
//!   `BLANK()`, unary `-`, `COUNTROWS(<table>)`, `SUM`/`MIN`/`MAX`/`AVERAGE(<column>)` over
//!   the whole model table, column references (`'Table'[Column]`, `Table[Column]`,
//!   `[Column]`) in a row context, comparisons `= <> < <= > >=` and `&&`, `||`, parentheses;
//! - comments `// ...`, `-- ...` and `/* ... */`.
//!
//! Errors carry the line and column (1-based) of the offending token and read like Analysis
//! Services' messages (`Query (1, 10) Failed to resolve name 'Nope'. ...`).

use std::cmp::Ordering;

use serde_json::{Map, Value};

/// A DAX error: where it is and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DaxError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl DaxError {
    fn at(pos: Pos, message: impl Into<String>) -> Self {
        Self {
            line: pos.line,
            col: pos.col,
            message: message.into(),
        }
    }

    /// The message as Analysis Services words it: `Query (line, column) message`.
    pub fn text(&self) -> String {
        format!("Query ({}, {}) {}", self.line, self.col, self.message)
    }
}

type DaxResult<T> = Result<T, DaxError>;

/// A line and column, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    line: usize,
    col: usize,
}

// ---- tokens ----

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// A bare word: keyword, function or table name.
    Ident(String),
    /// `'Table Name'`, quotes removed and `''` undoubled.
    Quoted(String),
    /// `[Column]`, brackets removed and `]]` undoubled.
    Column(String),
    Str(String),
    Num(String),
    LParen,
    RParen,
    Comma,
    /// `=`, `==`, `<>`, `<`, `<=`, `>`, `>=`, `&&`, `||`, and operators outside the subset
    /// (`+`, `*`, `/`, `&`) so that the parser can name them in its error.
    Op(&'static str),
    Minus,
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: Pos,
    /// The source text, for error messages.
    text: String,
}

fn tokenize(src: &str) -> DaxResult<Vec<Token>> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0, 1, 1);
    // Advances over `n` characters, keeping the line and column.
    let advance = |i: &mut usize, line: &mut usize, col: &mut usize, n: usize| {
        for _ in 0..n {
            if chars.get(*i) == Some(&'\n') {
                *line += 1;
                *col = 1;
            } else {
                *col += 1;
            }
            *i += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let pos = Pos { line, col };
        if c.is_whitespace() {
            advance(&mut i, &mut line, &mut col, 1);
            continue;
        }
        if (c == '/' && next == Some('/')) || (c == '-' && next == Some('-')) {
            while i < chars.len() && chars[i] != '\n' {
                advance(&mut i, &mut line, &mut col, 1);
            }
            continue;
        }
        if c == '/' && next == Some('*') {
            advance(&mut i, &mut line, &mut col, 2);
            loop {
                if i >= chars.len() {
                    return Err(DaxError::at(pos, "The end of the input was reached."));
                }
                if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    advance(&mut i, &mut line, &mut col, 2);
                    break;
                }
                advance(&mut i, &mut line, &mut col, 1);
            }
            continue;
        }
        let start = i;
        let tok = match c {
            '\'' | '"' | '[' => {
                let close = if c == '[' { ']' } else { c };
                let mut text = String::new();
                advance(&mut i, &mut line, &mut col, 1);
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(DaxError::at(pos, "The end of the input was reached."));
                        }
                        Some(&ch) if ch == close => {
                            // A doubled closing character stands for itself.
                            if chars.get(i + 1) == Some(&close) {
                                text.push(close);
                                advance(&mut i, &mut line, &mut col, 2);
                            } else {
                                advance(&mut i, &mut line, &mut col, 1);
                                break;
                            }
                        }
                        Some(&ch) => {
                            text.push(ch);
                            advance(&mut i, &mut line, &mut col, 1);
                        }
                    }
                }
                match c {
                    '\'' => Tok::Quoted(text),
                    '"' => Tok::Str(text),
                    _ => Tok::Column(text),
                }
            }
            '(' | ')' | ',' => {
                advance(&mut i, &mut line, &mut col, 1);
                match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    _ => Tok::Comma,
                }
            }
            '-' => {
                advance(&mut i, &mut line, &mut col, 1);
                Tok::Minus
            }
            _ if c.is_ascii_digit() || (c == '.' && next.is_some_and(|n| n.is_ascii_digit())) => {
                while chars
                    .get(i)
                    .is_some_and(|ch| ch.is_ascii_digit() || *ch == '.')
                {
                    advance(&mut i, &mut line, &mut col, 1);
                }
                if chars.get(i).is_some_and(|ch| *ch == 'e' || *ch == 'E') {
                    let sign = chars.get(i + 1).is_some_and(|ch| *ch == '+' || *ch == '-');
                    let digit_at = i + 1 + usize::from(sign);
                    if chars.get(digit_at).is_some_and(char::is_ascii_digit) {
                        advance(&mut i, &mut line, &mut col, 1 + usize::from(sign));
                        while chars.get(i).is_some_and(char::is_ascii_digit) {
                            advance(&mut i, &mut line, &mut col, 1);
                        }
                    }
                }
                Tok::Num(chars[start..i].iter().collect())
            }
            _ if c.is_alphabetic() || c == '_' => {
                while chars
                    .get(i)
                    .is_some_and(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == '.')
                {
                    advance(&mut i, &mut line, &mut col, 1);
                }
                Tok::Ident(chars[start..i].iter().collect())
            }
            _ => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                let op = ["==", "<>", "<=", ">=", "&&", "||"]
                    .into_iter()
                    .find(|op| *op == two)
                    .or_else(|| {
                        ["=", "<", ">", "+", "*", "/", "&", "^"]
                            .into_iter()
                            .find(|op| op.starts_with(c))
                    });
                match op {
                    Some(op) => {
                        advance(&mut i, &mut line, &mut col, op.len());
                        Tok::Op(op)
                    }
                    None => {
                        return Err(DaxError::at(
                            pos,
                            format!("The syntax for '{c}' is incorrect."),
                        ));
                    }
                }
            }
        };
        out.push(Token {
            tok,
            pos,
            text: chars[start..i].iter().collect(),
        });
    }
    out.push(Token {
        tok: Tok::Eof,
        pos: Pos { line, col },
        text: String::new(),
    });
    Ok(out)
}

// ---- syntax tree ----

/// An expression, before it is known to be a table or a scalar.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Num(f64, bool),
    Str(String),
    /// A bare or quoted name: a table (or a keyword such as `ASC` where one is expected).
    Name(String, bool),
    /// `Table[Column]` or `[Column]`.
    Column(Option<String>, String),
    Call(String, Vec<Node>),
    Neg(Box<Node>),
    Binary(&'static str, Box<Node>, Box<Node>),
}

#[derive(Debug, Clone, PartialEq)]
struct Node {
    expr: Expr,
    pos: Pos,
}

/// One `EVALUATE` statement.
#[derive(Debug, Clone, PartialEq)]
struct Statement {
    table: Node,
    order_by: Vec<(Node, bool)>,
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

fn keyword(t: &Token, word: &str) -> bool {
    matches!(&t.tok, Tok::Ident(w) if w.eq_ignore_ascii_case(word))
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.at]
    }

    fn bump(&mut self) -> Token {
        let t = self.tokens[self.at].clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        t
    }

    /// The error for the token at hand.
    fn unexpected(&self) -> DaxError {
        let t = self.peek();
        if t.tok == Tok::Eof {
            DaxError::at(t.pos, "The end of the input was reached.")
        } else {
            DaxError::at(t.pos, format!("The syntax for '{}' is incorrect.", t.text))
        }
    }

    fn expect(&mut self, tok: &Tok) -> DaxResult<Token> {
        if &self.peek().tok == tok {
            Ok(self.bump())
        } else {
            Err(self.unexpected())
        }
    }

    fn query(&mut self) -> DaxResult<Vec<Statement>> {
        let mut statements = Vec::new();
        loop {
            if self.peek().tok == Tok::Eof && !statements.is_empty() {
                return Ok(statements);
            }
            if !keyword(self.peek(), "EVALUATE") {
                return Err(self.unexpected());
            }
            self.bump();
            let table = self.expr()?;
            let mut order_by = Vec::new();
            if keyword(self.peek(), "ORDER") {
                self.bump();
                if !keyword(self.peek(), "BY") {
                    return Err(self.unexpected());
                }
                self.bump();
                loop {
                    let key = self.expr()?;
                    let mut ascending = true;
                    if keyword(self.peek(), "ASC") {
                        self.bump();
                    } else if keyword(self.peek(), "DESC") {
                        self.bump();
                        ascending = false;
                    }
                    order_by.push((key, ascending));
                    if self.peek().tok == Tok::Comma {
                        self.bump();
                    } else {
                        break;
                    }
                }
            }
            statements.push(Statement { table, order_by });
        }
    }

    fn expr(&mut self) -> DaxResult<Node> {
        self.binary_chain(&["||"], Self::and)
    }

    fn and(&mut self) -> DaxResult<Node> {
        self.binary_chain(&["&&"], Self::comparison)
    }

    fn binary_chain(
        &mut self,
        ops: &[&'static str],
        operand: fn(&mut Self) -> DaxResult<Node>,
    ) -> DaxResult<Node> {
        let mut left = operand(self)?;
        while let Tok::Op(op) = self.peek().tok
            && ops.contains(&op)
        {
            let pos = self.bump().pos;
            let right = operand(self)?;
            left = Node {
                expr: Expr::Binary(op, Box::new(left), Box::new(right)),
                pos,
            };
        }
        Ok(left)
    }

    fn comparison(&mut self) -> DaxResult<Node> {
        let left = self.unary()?;
        if let Tok::Op(op) = self.peek().tok
            && ["=", "<>", "<", "<=", ">", ">="].contains(&op)
        {
            let pos = self.bump().pos;
            let right = self.unary()?;
            return Ok(Node {
                expr: Expr::Binary(op, Box::new(left), Box::new(right)),
                pos,
            });
        }
        Ok(left)
    }

    fn unary(&mut self) -> DaxResult<Node> {
        if self.peek().tok == Tok::Minus {
            let pos = self.bump().pos;
            let inner = self.unary()?;
            return Ok(Node {
                expr: Expr::Neg(Box::new(inner)),
                pos,
            });
        }
        self.primary()
    }

    fn primary(&mut self) -> DaxResult<Node> {
        let t = self.peek().clone();
        let expr = match t.tok {
            Tok::Num(ref text) => {
                self.bump();
                let value: f64 = text.parse().map_err(|_| {
                    DaxError::at(t.pos, format!("The syntax for '{text}' is incorrect."))
                })?;
                let integer = !text.contains(['.', 'e', 'E']);
                Expr::Num(value, integer)
            }
            Tok::Str(ref s) => {
                self.bump();
                Expr::Str(s.clone())
            }
            Tok::LParen => {
                self.bump();
                let inner = self.expr()?;
                self.expect(&Tok::RParen)?;
                return Ok(inner);
            }
            Tok::Column(ref c) => {
                self.bump();
                Expr::Column(None, c.clone())
            }
            Tok::Quoted(ref name) => {
                self.bump();
                if let Tok::Column(c) = &self.peek().tok {
                    let c = c.clone();
                    self.bump();
                    Expr::Column(Some(name.clone()), c)
                } else {
                    Expr::Name(name.clone(), true)
                }
            }
            Tok::Ident(ref name) => {
                self.bump();
                match &self.peek().tok {
                    Tok::LParen => {
                        self.bump();
                        let mut args = Vec::new();
                        if self.peek().tok != Tok::RParen {
                            loop {
                                args.push(self.expr()?);
                                if self.peek().tok == Tok::Comma {
                                    self.bump();
                                } else {
                                    break;
                                }
                            }
                        }
                        self.expect(&Tok::RParen)?;
                        Expr::Call(name.to_ascii_uppercase(), args)
                    }
                    Tok::Column(c) => {
                        let c = c.clone();
                        self.bump();
                        Expr::Column(Some(name.clone()), c)
                    }
                    _ => Expr::Name(name.clone(), false),
                }
            }
            _ => return Err(self.unexpected()),
        };
        Ok(Node { expr, pos: t.pos })
    }
}

fn parse(src: &str) -> DaxResult<Vec<Statement>> {
    let tokens = tokenize(src)?;
    Parser { tokens, at: 0 }.query()
}

// ---- values ----

/// A DAX value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    Blank,
    Int(i64),
    Num(f64),
    Str(String),
    Bool(bool),
}

impl Val {
    fn from_json(v: Option<&Value>) -> Self {
        match v {
            None | Some(Value::Null) => Val::Blank,
            Some(Value::Bool(b)) => Val::Bool(*b),
            Some(Value::Number(n)) => n
                .as_i64()
                .map_or_else(|| Val::Num(n.as_f64().unwrap_or(0.0)), Val::Int),
            Some(Value::String(s)) => Val::Str(s.clone()),
            Some(other) => Val::Str(other.to_string()),
        }
    }

    /// The value in a result row (`null` for blank).
    pub fn to_json(&self) -> Value {
        match self {
            Val::Blank => Value::Null,
            Val::Int(i) => Value::from(*i),
            Val::Num(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Val::Str(s) => Value::String(s.clone()),
            Val::Bool(b) => Value::Bool(*b),
        }
    }

    /// The type name Analysis Services uses in its messages.
    fn type_name(&self) -> &'static str {
        match self {
            Val::Blank => "Blank",
            Val::Int(_) => "Integer",
            Val::Num(_) => "Number",
            Val::Str(_) => "Text",
            Val::Bool(_) => "True/False",
        }
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            Val::Int(i) => Some(*i as f64),
            Val::Num(f) => Some(*f),
            _ => None,
        }
    }
}

/// Compares two values as DAX does: numbers with numbers, text with text (ignoring case),
/// booleans with booleans; blank as the other side's zero value. Other pairs are an error.
fn compare(a: &Val, b: &Val, pos: Pos) -> DaxResult<Ordering> {
    let blank_as = |other: &Val| match other {
        Val::Str(_) => Val::Str(String::new()),
        Val::Bool(_) => Val::Bool(false),
        _ => Val::Int(0),
    };
    let (a, b) = match (a, b) {
        (Val::Blank, Val::Blank) => return Ok(Ordering::Equal),
        (Val::Blank, other) => (blank_as(other), other.clone()),
        (other, Val::Blank) => (other.clone(), blank_as(other)),
        (a, b) => (a.clone(), b.clone()),
    };
    match (&a, &b) {
        (Val::Str(x), Val::Str(y)) => Ok(x.to_lowercase().cmp(&y.to_lowercase())),
        (Val::Bool(x), Val::Bool(y)) => Ok(x.cmp(y)),
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => Ok(x.partial_cmp(&y).unwrap_or(Ordering::Equal)),
            _ => Err(DaxError::at(
                pos,
                format!(
                    "DAX comparison operations do not support comparing values of type {} with values of type {}. Consider using the VALUE or FORMAT function to convert one of the values.",
                    a.type_name(),
                    b.type_name()
                ),
            )),
        },
    }
}

/// The order of `ORDER BY` and `TOPN`: blanks first, then by type, then by value.
fn sort_order(a: &Val, b: &Val) -> Ordering {
    let rank = |v: &Val| match v {
        Val::Blank => 0,
        Val::Bool(_) => 1,
        Val::Int(_) | Val::Num(_) => 2,
        Val::Str(_) => 3,
    };
    match rank(a).cmp(&rank(b)) {
        Ordering::Equal => compare(a, b, Pos { line: 0, col: 0 }).unwrap_or(Ordering::Equal),
        other => other,
    }
}

// ---- tables ----

/// A table of the model the query runs over: its name, column names and stored rows.
pub(crate) struct ModelTable<'a> {
    pub name: &'a str,
    pub columns: Vec<String>,
    pub rows: &'a [Value],
}

/// A column of a result: `Table[Column]` for a model column, `[Name]` for a new one.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Col {
    pub table: Option<String>,
    pub name: String,
}

impl Col {
    /// The key of the column in a result row.
    pub fn key(&self) -> String {
        match &self.table {
            Some(t) => format!("{t}[{}]", self.name),
            None => format!("[{}]", self.name),
        }
    }
}

/// A table value: the result of a table expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TableVal {
    pub cols: Vec<Col>,
    pub rows: Vec<Vec<Val>>,
}

impl TableVal {
    /// The rows as JSON objects; blank values are left out unless `include_nulls`.
    pub fn json_rows(&self, include_nulls: bool) -> impl Iterator<Item = Map<String, Value>> + '_ {
        let keys: Vec<String> = self.cols.iter().map(Col::key).collect();
        self.rows.iter().map(move |row| {
            keys.iter()
                .zip(row)
                .filter(|(_, v)| include_nulls || **v != Val::Blank)
                .map(|(k, v)| (k.clone(), v.to_json()))
                .collect()
        })
    }

    fn find(&self, table: Option<&str>, column: &str) -> Option<usize> {
        self.cols.iter().position(|c| {
            c.name.eq_ignore_ascii_case(column)
                && table.is_none_or(|t| {
                    c.table
                        .as_deref()
                        .is_some_and(|ct| ct.eq_ignore_ascii_case(t))
                })
        })
    }
}

/// Functions of DAX outside the subset: named as unsupported rather than unknown.
const OTHER_DAX_FUNCTIONS: &[&str] = &[
    "ADDCOLUMNS",
    "ALL",
    "ALLEXCEPT",
    "CALCULATE",
    "CALCULATETABLE",
    "COUNT",
    "COUNTA",
    "COUNTBLANK",
    "CROSSJOIN",
    "DATATABLE",
    "DATE",
    "DISTINCTCOUNT",
    "EXCEPT",
    "FORMAT",
    "GENERATE",
    "GROUPBY",
    "IF",
    "INTERSECT",
    "NATURALINNERJOIN",
    "SAMPLE",
    "SELECTCOLUMNS",
    "SUMMARIZE",
    "SUMMARIZECOLUMNS",
    "SUMX",
    "TOPNSKIP",
    "TREATAS",
    "UNION",
    "VALUE",
];

const SCALAR_FUNCTIONS: &[&str] = &[
    "TRUE",
    "FALSE",
    "BLANK",
    "COUNTROWS",
    "SUM",
    "MIN",
    "MAX",
    "AVERAGE",
];
const TABLE_FUNCTIONS: &[&str] = &["TOPN", "FILTER", "ROW", "VALUES", "DISTINCT"];

fn not_a_table(pos: Pos) -> DaxError {
    DaxError::at(
        pos,
        "The expression specified in the query is not a valid table expression.",
    )
}

fn unknown_name(pos: Pos, name: &str) -> DaxError {
    DaxError::at(
        pos,
        format!(
            "Failed to resolve name '{name}'. It is not a valid table, variable, or function name."
        ),
    )
}

fn unsupported_function(pos: Pos, name: &str) -> DaxError {
    DaxError::at(
        pos,
        format!("The function '{name}' is not supported by this emulator's DAX subset."),
    )
}

fn arg_count(pos: Pos, name: &str, args: &[Node], min: usize, max: usize) -> DaxResult<()> {
    if args.len() < min {
        return Err(DaxError::at(
            pos,
            format!(
                "Too few arguments were passed to the {name} function. The minimum argument count for the function is {min}."
            ),
        ));
    }
    if args.len() > max {
        return Err(DaxError::at(
            pos,
            format!(
                "Too many arguments were passed to the {name} function. The maximum argument count for the function is {max}."
            ),
        ));
    }
    Ok(())
}

/// The row context of a scalar expression: a row of a table value.
#[derive(Clone, Copy)]
struct RowCtx<'t> {
    table: &'t TableVal,
    row: usize,
}

struct Eval<'m, 'a> {
    model: &'m [ModelTable<'a>],
}

impl Eval<'_, '_> {
    fn model_table(&self, name: &str, pos: Pos) -> DaxResult<&ModelTable<'_>> {
        self.model
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| unknown_name(pos, name))
    }

    /// A model table as a table value.
    fn load(&self, name: &str, pos: Pos) -> DaxResult<TableVal> {
        let t = self.model_table(name, pos)?;
        let cols = t
            .columns
            .iter()
            .map(|c| Col {
                table: Some(t.name.to_owned()),
                name: c.clone(),
            })
            .collect();
        let rows = t
            .rows
            .iter()
            .map(|r| t.columns.iter().map(|c| Val::from_json(r.get(c))).collect())
            .collect();
        Ok(TableVal { cols, rows })
    }

    /// A model column: the table, and the column's index there.
    fn model_column(
        &self,
        table: &str,
        column: &str,
        pos: Pos,
    ) -> DaxResult<(&ModelTable<'_>, usize)> {
        let t = self.model_table(table, pos)?;
        let i = t
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(column))
            .ok_or_else(|| {
                DaxError::at(
                    pos,
                    format!("Column '{column}' in table '{}' cannot be found or may not be used in this expression.", t.name),
                )
            })?;
        Ok((t, i))
    }

    fn table(&self, node: &Node) -> DaxResult<TableVal> {
        let pos = node.pos;
        match &node.expr {
            Expr::Name(name, _) => self.load(name, pos),
            Expr::Call(name, args) => match name.as_str() {
                "TOPN" => self.topn(pos, args),
                "FILTER" => {
                    arg_count(pos, name, args, 2, 2)?;
                    let mut table = self.table(&args[0])?;
                    let mut keep = Vec::with_capacity(table.rows.len());
                    for row in 0..table.rows.len() {
                        let ctx = RowCtx { table: &table, row };
                        let v = self.scalar(&args[1], Some(ctx))?;
                        keep.push(self.truth(&v, args[1].pos)?);
                    }
                    let mut flags = keep.into_iter();
                    table.rows.retain(|_| flags.next().unwrap_or(false));
                    Ok(table)
                }
                "ROW" => {
                    if args.is_empty() || args.len() % 2 != 0 {
                        return Err(DaxError::at(
                            pos,
                            "The ROW function expects pairs of a column name and an expression.",
                        ));
                    }
                    let mut cols = Vec::new();
                    let mut row = Vec::new();
                    for pair in args.chunks(2) {
                        let Expr::Str(col) = &pair[0].expr else {
                            return Err(DaxError::at(
                                pair[0].pos,
                                "Function ROW expects a column name as argument number 1.",
                            ));
                        };
                        cols.push(Col {
                            table: None,
                            name: col.clone(),
                        });
                        row.push(self.scalar(&pair[1], None)?);
                    }
                    Ok(TableVal {
                        cols,
                        rows: vec![row],
                    })
                }
                "VALUES" | "DISTINCT" => {
                    arg_count(pos, name, args, 1, 1)?;
                    let mut table = match &args[0].expr {
                        Expr::Column(Some(t), c) => {
                            let (mt, i) = self.model_column(t, c, args[0].pos)?;
                            let full = self.load(mt.name, args[0].pos)?;
                            TableVal {
                                cols: vec![full.cols[i].clone()],
                                rows: full.rows.into_iter().map(|r| vec![r[i].clone()]).collect(),
                            }
                        }
                        _ => self.table(&args[0])?,
                    };
                    let mut seen: Vec<Vec<Val>> = Vec::new();
                    table.rows.retain(|r| {
                        if seen.contains(r) {
                            false
                        } else {
                            seen.push(r.clone());
                            true
                        }
                    });
                    Ok(table)
                }
                n if SCALAR_FUNCTIONS.contains(&n) => Err(not_a_table(pos)),
                n if OTHER_DAX_FUNCTIONS.contains(&n) => Err(unsupported_function(pos, n)),
                n => Err(unknown_name(pos, n)),
            },
            _ => Err(not_a_table(pos)),
        }
    }

    fn topn(&self, pos: Pos, args: &[Node]) -> DaxResult<TableVal> {
        arg_count(pos, "TOPN", args, 2, usize::MAX)?;
        let n = match self.scalar(&args[0], None)? {
            Val::Blank => 0.0,
            v => v.as_f64().ok_or_else(|| {
                DaxError::at(
                    args[0].pos,
                    format!(
                        "Function TOPN expects a number for argument 1, not a value of type {}.",
                        v.type_name()
                    ),
                )
            })?,
        };
        let mut table = self.table(&args[1])?;
        // The order-by expressions, each with its direction (DAX's default: descending).
        let mut keys: Vec<(&Node, bool)> = Vec::new();
        let mut rest = args[2..].iter().peekable();
        while let Some(key) = rest.next() {
            let mut ascending = false;
            if let Some(order) = rest.peek()
                && let Some(asc) = self.order_keyword(order)?
            {
                ascending = asc;
                rest.next();
            }
            keys.push((key, ascending));
        }
        let n = if n <= 0.0 { 0 } else { n.floor() as usize };
        if keys.is_empty() {
            table.rows.truncate(n);
            return Ok(table);
        }
        let sorted = self.sort(&table, &keys)?;
        let mut take = n.min(sorted.len());
        // Every row tied with the n-th one is kept, as DAX does.
        if take > 0 {
            while take < sorted.len() && sorted[take].0 == sorted[take - 1].0 {
                take += 1;
            }
        }
        let rows = std::mem::take(&mut table.rows);
        let mut rows: Vec<Option<Vec<Val>>> = rows.into_iter().map(Some).collect();
        table.rows = sorted[..take]
            .iter()
            .filter_map(|(_, i)| rows[*i].take())
            .collect();
        Ok(table)
    }

    /// `ASC`/`DESC` (or `1`/`0`, `TRUE()`/`FALSE()`) as the order argument of TOPN:
    /// `Some(ascending)`, or `None` when the node is another order-by expression.
    fn order_keyword(&self, node: &Node) -> DaxResult<Option<bool>> {
        Ok(match &node.expr {
            Expr::Name(w, false) if w.eq_ignore_ascii_case("ASC") => Some(true),
            Expr::Name(w, false) if w.eq_ignore_ascii_case("DESC") => Some(false),
            Expr::Num(v, _) => Some(*v != 0.0),
            Expr::Call(f, args) if args.is_empty() && (f == "TRUE" || f == "FALSE") => {
                Some(f == "TRUE")
            }
            _ => None,
        })
    }

    /// The rows' sort keys and indices, sorted (stable) by `keys`.
    fn sort(&self, table: &TableVal, keys: &[(&Node, bool)]) -> DaxResult<Vec<(Vec<Val>, usize)>> {
        let mut sorted = Vec::with_capacity(table.rows.len());
        for row in 0..table.rows.len() {
            let ctx = RowCtx { table, row };
            let k = keys
                .iter()
                .map(|(node, _)| self.scalar(node, Some(ctx)))
                .collect::<DaxResult<Vec<Val>>>()?;
            sorted.push((k, row));
        }
        sorted.sort_by(|(a, _), (b, _)| {
            keys.iter()
                .zip(a.iter().zip(b))
                .map(|((_, asc), (x, y))| {
                    let o = sort_order(x, y);
                    if *asc { o } else { o.reverse() }
                })
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
        Ok(sorted)
    }

    fn truth(&self, v: &Val, pos: Pos) -> DaxResult<bool> {
        match v {
            Val::Bool(b) => Ok(*b),
            Val::Blank => Ok(false),
            Val::Int(i) => Ok(*i != 0),
            Val::Num(f) => Ok(*f != 0.0),
            Val::Str(_) => Err(DaxError::at(
                pos,
                "Cannot convert value of type Text to type True/False.",
            )),
        }
    }

    fn scalar(&self, node: &Node, ctx: Option<RowCtx<'_>>) -> DaxResult<Val> {
        let pos = node.pos;
        match &node.expr {
            Expr::Num(v, integer) => Ok(if *integer && v.abs() < 9.0e15 {
                Val::Int(*v as i64)
            } else {
                Val::Num(*v)
            }),
            Expr::Str(s) => Ok(Val::Str(s.clone())),
            Expr::Neg(inner) => match self.scalar(inner, ctx)? {
                Val::Int(i) => Ok(Val::Int(-i)),
                Val::Num(f) => Ok(Val::Num(-f)),
                Val::Blank => Ok(Val::Blank),
                v => Err(DaxError::at(
                    pos,
                    format!(
                        "Cannot convert value of type {} to type Number.",
                        v.type_name()
                    ),
                )),
            },
            Expr::Binary(op, l, r) => {
                let a = self.scalar(l, ctx)?;
                let b = self.scalar(r, ctx)?;
                match *op {
                    "&&" => Ok(Val::Bool(self.truth(&a, l.pos)? && self.truth(&b, r.pos)?)),
                    "||" => Ok(Val::Bool(self.truth(&a, l.pos)? || self.truth(&b, r.pos)?)),
                    op => {
                        let o = compare(&a, &b, pos)?;
                        Ok(Val::Bool(match op {
                            "=" => o == Ordering::Equal,
                            "<>" => o != Ordering::Equal,
                            "<" => o == Ordering::Less,
                            "<=" => o != Ordering::Greater,
                            ">" => o == Ordering::Greater,
                            _ => o != Ordering::Less,
                        }))
                    }
                }
            }
            Expr::Column(table, column) => {
                if let Some(t) = table {
                    // Checks the model knows the column before asking for a row of it.
                    self.model_column(t, column, pos)?;
                }
                let found =
                    ctx.and_then(|c| c.table.find(table.as_deref(), column).map(|i| (c, i)));
                match (found, table) {
                    (Some((c, i)), _) => Ok(c.table.rows[c.row][i].clone()),
                    (None, Some(t)) => {
                        let (mt, i) = self.model_column(t, column, pos)?;
                        Err(DaxError::at(
                            pos,
                            format!(
                                "A single value for column '{}' in table '{}' cannot be determined. This can happen when a measure formula refers to a column that contains many values without specifying an aggregation such as min, max, count, or sum to get a single result.",
                                mt.columns[i], mt.name
                            ),
                        ))
                    }
                    (None, None) => Err(DaxError::at(
                        pos,
                        format!(
                            "Column '{column}' cannot be found or may not be used in this expression."
                        ),
                    )),
                }
            }
            // DAX also takes TRUE and FALSE without parentheses.
            Expr::Name(n, false) if n.eq_ignore_ascii_case("TRUE") => Ok(Val::Bool(true)),
            Expr::Name(n, false) if n.eq_ignore_ascii_case("FALSE") => Ok(Val::Bool(false)),
            Expr::Name(_, _) => Err(DaxError::at(
                pos,
                "The expression refers to multiple columns. Multiple columns cannot be converted to a scalar value.",
            )),
            Expr::Call(name, args) => self.call(pos, name, args, ctx),
        }
    }

    fn call(&self, pos: Pos, name: &str, args: &[Node], ctx: Option<RowCtx<'_>>) -> DaxResult<Val> {
        match name {
            "TRUE" | "FALSE" | "BLANK" => {
                arg_count(pos, name, args, 0, 0)?;
                Ok(match name {
                    "TRUE" => Val::Bool(true),
                    "FALSE" => Val::Bool(false),
                    _ => Val::Blank,
                })
            }
            "COUNTROWS" => {
                arg_count(pos, name, args, 1, 1)?;
                let n = self.table(&args[0])?.rows.len();
                // DAX: COUNTROWS of an empty table is blank, not 0.
                Ok(if n == 0 {
                    Val::Blank
                } else {
                    Val::Int(n as i64)
                })
            }
            "SUM" | "MIN" | "MAX" | "AVERAGE" => {
                arg_count(pos, name, args, 1, 1)?;
                let arg = &args[0];
                let values: Vec<Val> = match &arg.expr {
                    Expr::Column(Some(t), c) => {
                        let (mt, i) = self.model_column(t, c, arg.pos)?;
                        let col = &mt.columns[i];
                        mt.rows.iter().map(|r| Val::from_json(r.get(col))).collect()
                    }
                    Expr::Column(None, c) => {
                        // `[Column]` names a column of the row context's model table.
                        let Some((t, i)) = ctx.and_then(|x| {
                            x.table
                                .find(None, c)
                                .and_then(|i| x.table.cols[i].table.clone().map(|t| (t, i)))
                        }) else {
                            return Err(DaxError::at(
                                arg.pos,
                                format!(
                                    "Column '{c}' cannot be found or may not be used in this expression."
                                ),
                            ));
                        };
                        let name = ctx
                            .map(|x| x.table.cols[i].name.clone())
                            .unwrap_or_default();
                        let (mt, i) = self.model_column(&t, &name, arg.pos)?;
                        let col = &mt.columns[i];
                        mt.rows.iter().map(|r| Val::from_json(r.get(col))).collect()
                    }
                    _ => {
                        return Err(DaxError::at(
                            arg.pos,
                            format!(
                                "The {name} function only accepts a column reference as an argument."
                            ),
                        ));
                    }
                };
                aggregate(name, values, pos)
            }
            n if TABLE_FUNCTIONS.contains(&n) => Err(DaxError::at(
                pos,
                "The expression refers to multiple columns. Multiple columns cannot be converted to a scalar value.",
            )),
            n if OTHER_DAX_FUNCTIONS.contains(&n) => Err(unsupported_function(pos, n)),
            n => Err(unknown_name(pos, n)),
        }
    }
}

fn aggregate(name: &str, values: Vec<Val>, pos: Pos) -> DaxResult<Val> {
    let values: Vec<Val> = values.into_iter().filter(|v| *v != Val::Blank).collect();
    let numeric_only = matches!(name, "SUM" | "AVERAGE");
    if let Some(bad) = values
        .iter()
        .find(|v| matches!(v, Val::Bool(_)) || (numeric_only && matches!(v, Val::Str(_))))
    {
        let type_name = if matches!(bad, Val::Str(_)) {
            "String"
        } else {
            "Boolean"
        };
        return Err(DaxError::at(
            pos,
            format!("The function {name} cannot work with values of type {type_name}."),
        ));
    }
    if values.is_empty() {
        return Ok(Val::Blank);
    }
    Ok(match name {
        "SUM" => {
            if values.iter().all(|v| matches!(v, Val::Int(_))) {
                let mut total: i64 = 0;
                for v in &values {
                    if let Val::Int(i) = v {
                        total = total.saturating_add(*i);
                    }
                }
                Val::Int(total)
            } else {
                Val::Num(values.iter().filter_map(Val::as_f64).sum())
            }
        }
        "AVERAGE" => {
            let sum: f64 = values.iter().filter_map(Val::as_f64).sum();
            Val::Num(sum / values.len() as f64)
        }
        _ => {
            let mut best = values[0].clone();
            for v in &values[1..] {
                let o = compare(v, &best, pos)?;
                if (name == "MIN" && o == Ordering::Less)
                    || (name == "MAX" && o == Ordering::Greater)
                {
                    best = v.clone();
                }
            }
            best
        }
    })
}

/// Runs a query over the model: the table of each `EVALUATE`, in order.
pub(crate) fn run(query: &str, model: &[ModelTable<'_>]) -> DaxResult<Vec<TableVal>> {
    let statements = parse(query)?;
    let eval = Eval { model };
    let mut out = Vec::with_capacity(statements.len());
    for s in &statements {
        let mut table = eval.table(&s.table)?;
        if !s.order_by.is_empty() {
            let keys: Vec<(&Node, bool)> = s.order_by.iter().map(|(n, a)| (n, *a)).collect();
            let sorted = eval.sort(&table, &keys)?;
            let mut rows: Vec<Option<Vec<Val>>> = std::mem::take(&mut table.rows)
                .into_iter()
                .map(Some)
                .collect();
            table.rows = sorted.iter().filter_map(|(_, i)| rows[*i].take()).collect();
        }
        out.push(table);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn orders() -> Vec<Value> {
        vec![
            json!({"OrderId": 1, "Customer": "Contoso", "Amount": 10.5, "Qty": 2, "Shipped": true}),
            json!({"OrderId": 2, "Customer": "Fabrikam", "Amount": 99.0, "Qty": 1, "Shipped": false}),
            json!({"OrderId": 3, "Customer": "O'Neil \"Q\"", "Amount": 42.25, "Qty": 5}),
            json!({"OrderId": 4, "Customer": "contoso", "Amount": 99.0, "Qty": 3, "Shipped": true}),
        ]
    }

    fn with_model<T>(f: impl FnOnce(&[ModelTable<'_>]) -> T) -> T {
        let rows = orders();
        let model = [ModelTable {
            name: "Sales Orders",
            columns: ["OrderId", "Customer", "Amount", "Qty", "Shipped"]
                .map(str::to_owned)
                .to_vec(),
            rows: &rows,
        }];
        f(&model)
    }

    fn rows(q: &str) -> Vec<Value> {
        with_model(|m| {
            let tables = run(q, m).unwrap_or_else(|e| panic!("{q}: {}", e.text()));
            tables[0].json_rows(false).map(Value::Object).collect()
        })
    }

    fn ids(q: &str) -> Vec<i64> {
        rows(q)
            .iter()
            .filter_map(|r| r["Sales Orders[OrderId]"].as_i64())
            .collect()
    }

    fn err(q: &str) -> String {
        with_model(|m| match run(q, m) {
            Ok(t) => panic!("{q} gave {t:?}"),
            Err(e) => e.text(),
        })
    }

    #[test]
    fn tokens_carry_positions_and_unescape() {
        let t = tokenize("EVALUATE\n  'It''s'[A]]b] \"x\"\"y\" -- c\n<= 1.5e3").unwrap();
        let kinds: Vec<&Tok> = t.iter().map(|t| &t.tok).collect();
        assert_eq!(
            kinds,
            [
                &Tok::Ident("EVALUATE".into()),
                &Tok::Quoted("It's".into()),
                &Tok::Column("A]b".into()),
                &Tok::Str("x\"y".into()),
                &Tok::Op("<="),
                &Tok::Num("1.5e3".into()),
                &Tok::Eof,
            ]
        );
        assert_eq!(t[1].pos, Pos { line: 2, col: 3 });
        assert_eq!(t[4].pos, Pos { line: 3, col: 1 });
        assert!(tokenize("EVALUATE 'open").is_err());
        assert_eq!(
            tokenize("EVALUATE $").unwrap_err().text(),
            "Query (1, 10) The syntax for '$' is incorrect."
        );
    }

    #[test]
    fn evaluate_a_table_qualifies_columns() {
        let r = rows("evaluate 'Sales Orders'");
        assert_eq!(r.len(), 4);
        assert_eq!(r[0]["Sales Orders[Customer]"], "Contoso");
        assert_eq!(r[0]["Sales Orders[Amount]"], 10.5);
        // A missing value is blank, left out without includeNulls.
        assert!(r[2].get("Sales Orders[Shipped]").is_none());
        with_model(|m| {
            let t = run("EVALUATE 'Sales Orders'", m).unwrap();
            let full: Vec<_> = t[0].json_rows(true).collect();
            assert_eq!(full[2]["Sales Orders[Shipped]"], Value::Null);
        });
    }

    #[test]
    fn bare_names_and_comments() {
        let rows = vec![json!({"A": 1})];
        let model = [ModelTable {
            name: "T_1",
            columns: vec!["A".into()],
            rows: &rows,
        }];
        let t = run("// first\nEVALUATE /* x */ t_1 -- last", &model).unwrap();
        assert_eq!(t[0].cols[0].key(), "T_1[A]");
    }

    #[test]
    fn topn_defaults_to_descending_and_keeps_ties() {
        assert_eq!(
            ids("EVALUATE TOPN(1, 'Sales Orders', 'Sales Orders'[Amount])"),
            [2, 4]
        );
        assert_eq!(
            ids("EVALUATE TOPN(2, 'Sales Orders', [Amount], ASC)"),
            [1, 3]
        );
        assert_eq!(ids("EVALUATE TOPN(2, 'Sales Orders', [Qty], 1)"), [2, 1]);
        assert_eq!(ids("EVALUATE TOPN(2, 'Sales Orders')"), [1, 2]);
        assert_eq!(
            ids("EVALUATE TOPN(0, 'Sales Orders', [Qty])"),
            Vec::<i64>::new()
        );
        assert!(
            err("EVALUATE TOPN(1)").contains("Too few arguments were passed to the TOPN function")
        );
    }

    #[test]
    fn filter_compares_and_combines() {
        assert_eq!(
            ids("EVALUATE FILTER('Sales Orders', [Amount] > 40)"),
            [2, 3, 4]
        );
        assert_eq!(
            ids("EVALUATE FILTER('Sales Orders', 'Sales Orders'[Customer] = \"CONTOSO\")"),
            [1, 4]
        );
        assert_eq!(
            ids("EVALUATE FILTER('Sales Orders', [Customer] = \"O'Neil \"\"Q\"\"\")"),
            [3]
        );
        assert_eq!(
            ids("EVALUATE FILTER('Sales Orders', [Qty] >= 2 && [Amount] <> 99)"),
            [1, 3]
        );
        assert_eq!(
            ids("EVALUATE FILTER('Sales Orders', [Qty] <= 1 || [Qty] = 5)"),
            [2, 3]
        );
        assert_eq!(
            ids("EVALUATE FILTER('Sales Orders', [Shipped] = TRUE())"),
            [1, 4]
        );
        assert_eq!(
            ids("EVALUATE FILTER('Sales Orders', [Shipped] = FALSE())"),
            [2, 3]
        );
        assert_eq!(
            ids("EVALUATE FILTER('Sales Orders', [Shipped] = true)"),
            [1, 4]
        );
        assert_eq!(
            ids("EVALUATE FILTER('Sales Orders', [Shipped] = BLANK())"),
            [2, 3]
        );
        assert_eq!(
            ids("EVALUATE FILTER('Sales Orders', [Amount] < -1)"),
            Vec::<i64>::new()
        );
        assert_eq!(
            ids("EVALUATE FILTER('Sales Orders', ([Qty] > 1) && ([Qty] < 5))"),
            [1, 4]
        );
        assert_eq!(
            ids("EVALUATE FILTER('Sales Orders', [Amount] > AVERAGE('Sales Orders'[Amount]))"),
            [2, 4]
        );
        assert_eq!(
            ids("EVALUATE TOPN(1, FILTER('Sales Orders', [Qty] < 5), [Qty])"),
            [4]
        );
        assert!(
            err("EVALUATE FILTER('Sales Orders', [Customer] > 1)").contains(
                "do not support comparing values of type Text with values of type Integer"
            )
        );
    }

    #[test]
    fn row_with_aggregates() {
        let r = rows(
            "EVALUATE ROW(\"Rows\", COUNTROWS('Sales Orders'), \"Total\", SUM('Sales Orders'[Qty]), \
             \"Min\", MIN('Sales Orders'[Amount]), \"Max\", MAX('Sales Orders'[Customer]), \
             \"Avg\", AVERAGE('Sales Orders'[Qty]), \"Lit\", \"x\", \"None\", BLANK())",
        );
        assert_eq!(
            r,
            [
                json!({"[Rows]": 4, "[Total]": 11, "[Min]": 10.5, "[Max]": "O'Neil \"Q\"", "[Avg]": 2.75, "[Lit]": "x"})
            ]
        );
        let r = rows(
            "EVALUATE ROW(\"Empty\", COUNTROWS(FILTER('Sales Orders', [Qty] > 100)), \"N\", -2.5)",
        );
        assert_eq!(r, [json!({"[N]": -2.5})]);
        assert!(
            err("EVALUATE ROW(\"S\", SUM('Sales Orders'[Customer]))")
                .contains("The function SUM cannot work with values of type String.")
        );
        assert!(err("EVALUATE ROW(\"S\")").contains("pairs"));
    }

    #[test]
    fn order_by_and_values() {
        assert_eq!(
            ids("EVALUATE 'Sales Orders' ORDER BY [Qty] DESC"),
            [3, 4, 1, 2]
        );
        assert_eq!(
            ids("EVALUATE 'Sales Orders' ORDER BY 'Sales Orders'[Amount] DESC, [OrderId] ASC"),
            [2, 4, 3, 1]
        );
        let r = rows("EVALUATE VALUES('Sales Orders'[Amount]) ORDER BY [Amount]");
        assert_eq!(
            r,
            [
                json!({"Sales Orders[Amount]": 10.5}),
                json!({"Sales Orders[Amount]": 42.25}),
                json!({"Sales Orders[Amount]": 99.0})
            ]
        );
    }

    #[test]
    fn several_statements() {
        with_model(|m| {
            let t = run("EVALUATE ROW(\"a\", 1) EVALUATE 'Sales Orders'", m).unwrap();
            assert_eq!(t.len(), 2);
            assert_eq!(t[0].cols[0].key(), "[a]");
        });
    }

    #[test]
    fn errors_name_line_and_column() {
        assert_eq!(
            err("EVALUATE Nope"),
            "Query (1, 10) Failed to resolve name 'Nope'. It is not a valid table, variable, or function name."
        );
        assert_eq!(
            err("EVALUATE x y"),
            "Query (1, 12) The syntax for 'y' is incorrect."
        );
        assert_eq!(
            err("EVALUATE"),
            "Query (1, 9) The end of the input was reached."
        );
        assert_eq!(
            err("SELECT 1"),
            "Query (1, 1) The syntax for 'SELECT' is incorrect."
        );
        assert_eq!(
            err("EVALUATE\n FILTER('Sales Orders', [Nope] = 1)"),
            "Query (2, 25) Column 'Nope' cannot be found or may not be used in this expression."
        );
        assert!(
            err("EVALUATE ROW(\"a\", 'Sales Orders'[Nope])")
                .contains("Column 'Nope' in table 'Sales Orders' cannot be found")
        );
        assert!(
            err("EVALUATE ROW(\"a\", 'Sales Orders'[Qty])")
                .contains("A single value for column 'Qty'")
        );
        assert!(err("EVALUATE SUMMARIZECOLUMNS('Sales Orders'[Qty])").contains("not supported"));
        assert!(err("EVALUATE FOO(1)").contains("Failed to resolve name 'FOO'"));
        assert!(err("EVALUATE COUNTROWS('Sales Orders')").contains("not a valid table expression"));
        assert!(err("EVALUATE 1 + 2").contains("The syntax for '+' is incorrect."));
        assert!(err("EVALUATE ROW(\"a\", TRUE(1))").contains("Too many arguments"));
        assert!(err("EVALUATE ROW(\"a\", 'Sales Orders')").contains("multiple columns"));
    }
}
