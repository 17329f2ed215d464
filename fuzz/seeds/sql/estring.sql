select E'it\'s; here', 'a''b', "quoted""id", U&'\0041';
/* nested /* comment */ ; */ select 1;
