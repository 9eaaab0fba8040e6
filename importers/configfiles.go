package importers

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"certgov/model"
)

// configFiles reads the CA and CRL files a server configuration names
// (nginx, HAProxy), each once: their certificates are inventoried with the
// place that names them, their CRLs imported, and what cannot be read is
// a problem at that place.
type configFiles struct {
	r    *reader
	conf string                // the configuration file places are named relative to
	done map[string]configFile // by path
}

// configFile is a CA or CRL file as read: its certificates, or why it
// could not be read.
type configFile struct {
	path  string
	certs []model.FoundCertificate
	crls  []model.CRL
	err   error
}

func newConfigFiles(r *reader, conf string) *configFiles {
	return &configFiles{r: r, conf: conf, done: map[string]configFile{}}
}

// where names a place in the configuration for people: the file relative
// to the folder of the configuration, and the line.
func (c *configFiles) where(file string, line int) string {
	rel, err := filepath.Rel(filepath.Dir(c.conf), file)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = file
	}
	return fmt.Sprintf("%s:%d", rel, line)
}

// read reads the file a directive (name, at file:line) names as written,
// relative paths from the folder of the configuration.
func (c *configFiles) read(written, file string, line int, name string) configFile {
	path, err := c.r.referencedPath(written, c.conf)
	if err != nil {
		c.r.problemIn(file, line, name, fmt.Errorf("%s: %w", written, err))
		return configFile{err: err}
	}
	return c.readPath(path, written, file, line, name)
}

// readPath is read with the path already resolved.
func (c *configFiles) readPath(path, written, file string, line int, name string) configFile {
	if f, ok := c.done[path]; ok {
		return f
	}
	if c.r.interrupted() {
		return configFile{err: c.r.ctx.Err()}
	}
	data, err := c.r.readReferenced(path)
	if err != nil {
		c.r.problemIn(file, line, name, fmt.Errorf("%s: %w", written, err))
		c.done[path] = configFile{path: path, err: err}
		return c.done[path]
	}
	sub := &reader{ctx: c.r.ctx, path: path, opts: c.r.opts, res: &model.FileResult{}}
	if err := sub.readPEM(data); err != nil {
		c.r.problemIn(file, line, name, err)
	}
	c.r.res.Problems = append(c.r.res.Problems, sub.res.Problems...)
	c.r.res.CRLs = append(c.r.res.CRLs, sub.res.CRLs...)
	f := configFile{path: path, crls: sub.res.CRLs}
	location := c.where(file, line) + ": " + name + " " + written
	for _, cert := range sub.res.Certificates {
		cert.Location = strings.TrimSuffix(location+", "+cert.Location, ", ")
		c.r.res.Certificates = append(c.r.res.Certificates, cert)
		f.certs = append(f.certs, cert)
	}
	c.done[path] = f
	return f
}

// opensslHashName is how c_rehash and openssl rehash name the files of a
// hashed folder: the subject hash, then .N for certificates, .rN for CRLs.
// OpenSSL's lookup in the folder finds no other file.
var opensslHashName = regexp.MustCompile(`^[0-9a-f]{8}\.r?[0-9]+$`)

// readHashedFolder reads a CA or CRL folder (Apache SSLCACertificatePath,
// stunnel CApath) as OpenSSL looks it up: its hashed names only. A file no
// hashed name leads to is never found, and is reported.
func (c *configFiles) readHashedFolder(dir, written, file string, line int, name string) configFile {
	entries, err := os.ReadDir(dir)
	if err != nil {
		c.r.problemIn(file, line, name, fmt.Errorf("%s: %w", written, err))
		return configFile{path: dir, err: err}
	}
	out := configFile{path: dir}
	var unhashed []string
	linked := map[string]bool{} // what the hashed names lead to
	for i, e := range entries {
		if i >= maxIncludeFiles {
			c.r.problemIn(file, line, name, fmt.Errorf("%s holds more than %d files; the rest are not read", written, maxIncludeFiles))
			break
		}
		path := filepath.Join(dir, e.Name())
		if !opensslHashName.MatchString(e.Name()) {
			if e.Type().IsRegular() {
				unhashed = append(unhashed, e.Name())
			}
			continue
		}
		if target, err := filepath.EvalSymlinks(path); err == nil {
			linked[filepath.Base(target)] = true
		}
		f := c.readPath(path, filepath.Join(written, e.Name()), file, line, name)
		out.certs = append(out.certs, f.certs...)
		out.crls = append(out.crls, f.crls...)
	}
	unhashed = slices.DeleteFunc(unhashed, func(name string) bool { return linked[name] })
	if len(unhashed) > 0 {
		c.r.problemIn(file, line, name, fmt.Errorf("%s: %s not found by OpenSSL, which looks files up by subject hash (run openssl rehash)", written, strings.Join(unhashed, ", ")))
	}
	return out
}
