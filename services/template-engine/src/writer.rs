//! [`BoundedWriter`]: enforces `max_output_bytes` while a template renders.
//!
//! MiniJinja streams output into the writer chunk by chunk, so failing the write that
//! would pass the limit stops a runaway render right there.

use std::io::{self, Write};

/// Wraps a writer and fails once more than `limit` bytes would have been written.
#[derive(Debug)]
pub(crate) struct BoundedWriter<W> {
    inner: W,
    written: usize,
    limit: usize,
    exceeded: bool,
}

impl<W: Write> BoundedWriter<W> {
    pub(crate) fn new(inner: W, limit: usize) -> Self {
        Self {
            inner,
            written: 0,
            limit,
            exceeded: false,
        }
    }

    /// Whether a write was refused because of the limit.
    pub(crate) fn exceeded(&self) -> bool {
        self.exceeded
    }

    /// Bytes written so far.
    pub(crate) fn written(&self) -> usize {
        self.written
    }

    pub(crate) fn into_inner(self) -> W {
        self.inner
    }
}

impl<W: Write> Write for BoundedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() > self.limit - self.written {
            self.exceeded = true;
            return Err(io::Error::other("output size limit exceeded"));
        }
        let n = self.inner.write(buf)?;
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_write_that_passes_the_limit() {
        let mut w = BoundedWriter::new(Vec::new(), 5);
        assert!(w.write_all(b"abc").is_ok());
        assert!(w.write_all(b"de").is_ok());
        assert!(!w.exceeded());
        assert!(w.write_all(b"f").is_err());
        assert!(w.exceeded());
        assert_eq!(w.written(), 5);
        assert_eq!(w.into_inner(), b"abcde");
    }
}
