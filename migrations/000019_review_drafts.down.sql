DROP TABLE review_drafts;
