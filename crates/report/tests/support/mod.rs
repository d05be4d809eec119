pub(crate) mod pg;
