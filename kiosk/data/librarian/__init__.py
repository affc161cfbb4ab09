"""The librarian's view of the library: the day's log, cases to review, overdue loans, actions by hand."""
