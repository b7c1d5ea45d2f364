DROP TABLE products;
DROP TABLE storefronts;
DROP TABLE email_tokens;
DROP TABLE refresh_tokens;
DROP TABLE users;
