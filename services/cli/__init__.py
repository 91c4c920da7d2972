"""`attx`, the command line of Attendance Exchange. It runs services; it is not one."""
