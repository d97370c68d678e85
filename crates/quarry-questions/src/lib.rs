//! Investigative questions in the DFIQ sense: each question names the
//! events it needs (for Q1018, [`q1018::wants`]), and answers from them with rows
//! that say how they were obtained and a coverage report that says what the
//! evidence could not answer.

pub mod q1018;

/// A DFIQ approach quarry implements for a question.
#[derive(Debug, Clone, Copy)]
pub struct Approach {
    pub name: &'static str,
    /// What the approach reads.
    pub data: &'static str,
}

/// A question quarry can answer.
#[derive(Debug, Clone, Copy)]
pub struct Question {
    pub id: &'static str,
    pub name: &'static str,
    pub approaches: &'static [Approach],
}

/// Every question quarry answers.
pub const QUESTIONS: &[Question] = &[q1018::QUESTION];

pub fn find(id: &str) -> Option<&'static Question> {
    QUESTIONS.iter().find(|q| q.id.eq_ignore_ascii_case(id))
}
