package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHealthcheck(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"status":"ok"}`)) }))
	defer ok.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer bad.Close()
	var out, errb bytes.Buffer
	if code := realMain([]string{"healthcheck", "--url", ok.URL}, &out, &errb); code != 0 {
		t.Errorf("healthy server: exit %d %s", code, errb.String())
	}
	if code := realMain([]string{"healthcheck", "--url", bad.URL}, &out, &errb); code != 1 {
		t.Errorf("503: exit %d", code)
	}
	if code := realMain([]string{"healthcheck", "--url", "http://127.0.0.1:1/healthz"}, &out, &errb); code != 1 {
		t.Errorf("nothing listening: exit %d", code)
	}
}
