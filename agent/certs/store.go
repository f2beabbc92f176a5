package certs

import (
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"keel/agent/atomicfile"
	"keel/agent/ident"
)

// ErrBadFilename: the file name is not a plain "<name>.pem".
var ErrBadFilename = errors.New("Filename has wrong format")

// NotFoundError: no stored certificate with that name for that listener.
type NotFoundError struct{ Filename string }

func (e *NotFoundError) Error() string { return "No certificate with file name: " + e.Filename }

// Store keeps per-listener certificate files under <dir>/<listener id>/<file name>.
type Store struct{ dir string }

// NewStore creates dir (0700) if needed.
func NewStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certificate directory: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("certificate directory: %w", err)
	}
	return &Store{dir: dir}, nil
}

// Dir is the store's root directory.
func (s *Store) Dir() string { return s.dir }

// ListenerDir is where a listener's certificates live; the agent points haproxy's
// crt-base and ca-base there.
func (s *Store) ListenerDir(listenerID string) string { return filepath.Join(s.dir, listenerID) }

func (s *Store) path(listenerID, filename string) (string, error) {
	if !ident.ValidUUID(listenerID) {
		return "", fmt.Errorf("invalid listener id %q", listenerID)
	}
	if !ident.ValidCertFilename(filename) {
		return "", ErrBadFilename
	}
	return filepath.Join(s.dir, listenerID, filename), nil
}

// Put validates data as a PEM bundle and stores it as given (0600, atomically).
func (s *Store) Put(listenerID, filename string, data []byte) (md5sum string, err error) {
	p, err := s.path(listenerID, filename)
	if err != nil {
		return "", err
	}
	if _, err := ParseBundle(data); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	if err := atomicfile.Write(p, data, 0o600); err != nil {
		return "", err
	}
	return sum(data), nil
}

// MD5 returns the hex md5 of the stored file.
func (s *Store) MD5(listenerID, filename string) (string, error) {
	p, err := s.path(listenerID, filename)
	if err != nil {
		if errors.Is(err, ErrBadFilename) {
			return "", &NotFoundError{Filename: filename}
		}
		return "", err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return "", &NotFoundError{Filename: filename}
	}
	if err != nil {
		return "", err
	}
	return sum(data), nil
}

// Delete removes the file, and the listener's directory once it is empty.
func (s *Store) Delete(listenerID, filename string) error {
	p, err := s.path(listenerID, filename)
	if err != nil {
		if errors.Is(err, ErrBadFilename) {
			return &NotFoundError{Filename: filename}
		}
		return err
	}
	if err := os.Remove(p); errors.Is(err, fs.ErrNotExist) {
		return &NotFoundError{Filename: filename}
	} else if err != nil {
		return err
	}
	os.Remove(filepath.Dir(p)) // only succeeds when empty
	return nil
}

// DeleteListener removes every certificate of a listener.
func (s *Store) DeleteListener(listenerID string) error {
	if !ident.ValidUUID(listenerID) {
		return fmt.Errorf("invalid listener id %q", listenerID)
	}
	return os.RemoveAll(s.ListenerDir(listenerID))
}

func sum(data []byte) string {
	h := md5.Sum(data)
	return hex.EncodeToString(h[:])
}
