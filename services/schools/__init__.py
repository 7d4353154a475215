"""School admissions: in-year admission applications for children who move (task queue
`school-admissions`)."""
