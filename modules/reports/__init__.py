"""Reports for HR and admins: completion, status per person, JP recap, self-assessment change,
charts, exports run as background jobs, and the same figures as JSON for HR systems."""
