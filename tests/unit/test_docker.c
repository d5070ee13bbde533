/* test_docker.c -- svcdnsctl docker's pure parts: inspect objects and labels -> instances
 * (docker_labels.c), and the Engine API's HTTP framing (docker_api.c) against a fake
 * engine on a unix socket that sends its answers in awkward pieces. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docker_api.h"
#include "docker_labels.h"
#include "tap.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static json_t *inspect_of(const char *labels, const char *networks, const char *exposed, int running)
{
	char text[4096];
	json_error_t error;
	snprintf(text, sizeof text,
		 "{\"Id\":\"" ID "\",\"Name\":\"/shop_user-service_2\",\"State\":{\"Running\":%s},"
		 "\"Config\":{\"Labels\":%s,\"ExposedPorts\":%s},"
		 "\"NetworkSettings\":{\"Networks\":%s}}",
		 running ? "true" : "false", labels, exposed, networks);
	json_t *j = json_loads(text, 0, &error);
	if (j == NULL)
		printf("# bad test JSON: %s\n", error.text);
	return j;
}

static int from(const char *labels, const char *networks, const char *exposed, const struct docker_label_options *o,
		struct docker_instance *out, char *why)
{
	json_t *j = inspect_of(labels, networks, exposed, 1);
	int rc = docker_instance_from_inspect(j, o, out, why, 256);
	json_decref(j);
	return rc;
}

static const char *txt_of(const struct docker_instance *d, int i)
{
	return d->inst.txt[i] ? d->inst.txt[i] : "(none)";
}

static void test_labels(void)
{
	struct docker_label_options o = { .compose = 1, .daemon_id = "D1" };
	struct docker_instance d;
	char why[256];
	const char *one_net = "{\"shop_apps\":{\"IPAddress\":\"172.28.0.5\"}}";

	is_int(from("{\"com.docker.compose.service\":\"user-service\",\"com.docker.compose.project\":\"shop\"}", one_net,
		    "{\"8080/tcp\":{}}", &o, &d, why), 0, "compose: service from com.docker.compose.service");
	is_str(d.inst.service, "user-service", "service");
	is_str(d.inst.instance, "shop-user-service-2", "instance: the container name as a DNS label");
	is_str(d.inst.address, "172.28.0.5", "address on the only network");
	is_int(d.inst.port, 8080, "port: the only exposed port");
	is_str(txt_of(&d, 0), "docker-id=" ID, "marker: docker-id=");
	is_str(txt_of(&d, 1), "docker-daemon=D1", "marker: docker-daemon=");
	is_str(d.extra, "", "no extra options for one network and no tags");

	is_int(from("{\"svcdns.service\":\"dns\",\"svcdns.port\":\"53\",\"svcdns.proto\":\"udp\",\"svcdns.ttl\":\"7\","
		    "\"svcdns.weight\":\"90\",\"svcdns.priority\":\"1\",\"svcdns.tags\":\"canary,eu\","
		    "\"svcdns.check\":\"tcp://:53\",\"svcdns.txt.version\":\"2\"}",
		    one_net, "{}", &o, &d, why), 0, "every label");
	is_str(d.inst.service, "dns", "svcdns.service");
	is_int(d.inst.port, 53, "svcdns.port");
	is_str(d.inst.proto, "udp", "svcdns.proto");
	is_int(d.inst.ttl, 7, "svcdns.ttl");
	is_int(d.inst.weight, 90, "svcdns.weight");
	is_int(d.inst.priority, 1, "svcdns.priority");
	is_str(d.inst.check ? d.inst.check : "", "tcp://:53", "svcdns.check");
	is_str(d.extra, "tags=canary,eu", "svcdns.tags as tags=");
	is_str(txt_of(&d, 0), "version=2", "svcdns.txt.version");

	o.compose = 0;
	json_t *compose_only = json_pack("{s:s}", "com.docker.compose.service", "x");
	is_int(docker_is_candidate(compose_only, 0), 0, "without --compose a compose label alone is not enough");
	json_decref(compose_only);
	is_int(from("{\"svcdns.service\":\"web\",\"svcdns.enable\":\"false\"}", one_net, "{\"80/tcp\":{}}", &o, &d, why), -1,
	       "svcdns.enable=false");
	is_int(from("{\"svcdns.service\":\"web\"}", one_net, "{\"80/tcp\":{},\"443/tcp\":{}}", &o, &d, why), -1,
	       "two exposed ports and no svcdns.port: refused");
	ok(strstr(why, "2 exposed ports") != NULL, "the reason names the exposed ports");
	is_int(from("{\"svcdns.service\":\"web\"}", one_net, "{\"514/udp\":{}}", &o, &d, why), 0, "an exposed udp port");
	is_str(d.inst.proto, "udp", "its proto");
	is_int(from("{\"svcdns.service\":\"web\",\"svcdns.port\":\"http\"}", one_net, "{}", &o, &d, why), -1,
	       "svcdns.port must be a number");
	is_int(from("{\"svcdns.service\":\"web\",\"svcdns.port\":\"80\",\"svcdns.txt.note\":\"two words\"}", one_net, "{}",
		    &o, &d, why), -1, "a TXT value with a space is refused");
	is_int(from("{\"svcdns.service\":\"web\",\"svcdns.port\":\"80\",\"svcdns.ttl\":\"0\"}", one_net, "{}", &o, &d, why),
	       -1, "svcdns.ttl 0 is refused");

	const char *two_nets = "{\"shop_front\":{\"IPAddress\":\"10.1.0.2\"},\"shop_back\":{\"IPAddress\":\"10.2.0.2\"}}";
	is_int(from("{\"svcdns.service\":\"web\",\"svcdns.port\":\"80\",\"com.docker.compose.project\":\"shop\"}", two_nets,
		    "{}", &o, &d, why), 0, "two networks, no --network");
	is_str(d.inst.address, "10.2.0.2", "the first network by name gives the address");
	is_str(d.extra, "addr=10.1.0.2", "the other one is sent as addr=");
	o.network = "front";
	is_int(from("{\"svcdns.service\":\"web\",\"svcdns.port\":\"80\",\"com.docker.compose.project\":\"shop\"}", two_nets,
		    "{}", &o, &d, why), 0, "--network front matches compose's shop_front");
	is_str(d.inst.address, "10.1.0.2", "its address");
	is_str(d.extra, "", "and no addr=");
	o.network = "other";
	is_int(from("{\"svcdns.service\":\"web\",\"svcdns.port\":\"80\"}", two_nets, "{}", &o, &d, why), -1,
	       "not on --network: refused");
	o.network = NULL;

	json_t *stopped = inspect_of("{\"svcdns.service\":\"web\",\"svcdns.port\":\"80\"}", one_net, "{}", 0);
	is_int(docker_instance_from_inspect(stopped, &o, &d, why, sizeof why), -1, "a stopped container is not registered");
	is_str(why, "not running", "reason: not running");
	json_decref(stopped);

	char name[64];
	is_int(docker_instance_name("/_My.App_1_", name, sizeof name), 0, "instance name");
	is_str(name, "my-app-1", "lower case, '_' and '.' as '-', no '-' at the ends");
	is_int(docker_instance_name("/___", name, sizeof name), -1, "nothing left: refused");
}

/* ---- framing against a fake engine ---- */

struct got {
	int calls, status, events, closed;
	char text[512];
	struct event_base *base;
};

static void on_response(void *arg, int status, json_t *body, const char *error)
{
	struct got *g = arg;
	g->calls++;
	g->status = status;
	snprintf(g->text, sizeof g->text, "%s", body ? json_string_value(json_object_get(body, "ID")) : error);
	event_base_loopbreak(g->base);
}

static void on_opened(void *arg)
{
	(void)arg;
}

static void on_stream_event(void *arg, json_t *event)
{
	struct got *g = arg;
	g->events++;
	size_t len = strlen(g->text);
	snprintf(g->text + len, sizeof g->text - len, "%s;", json_string_value(json_object_get(event, "Action")));
}

static void on_closed(void *arg, int status, const char *error)
{
	struct got *g = arg;
	(void)error;
	g->closed++;
	g->status = status;
	event_base_loopbreak(g->base);
}

/* A child that accepts one connection, reads the request and writes response in pieces
 * of `piece` bytes. */
static pid_t serve_once(const char *path, const char *response, size_t piece)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int listener = socket(AF_UNIX, SOCK_STREAM, 0);
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	unlink(path);
	if (listener < 0 || bind(listener, (struct sockaddr *)&sun, sizeof sun) < 0 || listen(listener, 1) < 0)
		return -1;
	pid_t pid = fork();
	if (pid != 0) {
		close(listener);
		return pid;
	}
	int fd = accept(listener, NULL, NULL);
	char request[2048];
	size_t have = 0;
	while (have < sizeof request - 1) {
		ssize_t n = read(fd, request + have, sizeof request - 1 - have);
		if (n <= 0)
			break;
		have += (size_t)n;
		request[have] = 0;
		if (strstr(request, "\r\n\r\n"))
			break;
	}
	for (size_t off = 0, len = strlen(response); off < len; off += piece) {
		size_t n = len - off < piece ? len - off : piece;
		if (write(fd, response + off, n) < 0)
			break;
		usleep(200);
	}
	close(fd);
	_exit(0);
}

static void test_framing(void)
{
	char dir[] = "/tmp/svcdns-test-docker.XXXXXX";
	char path[128];
	struct got g = { 0 };
	if (mkdtemp(dir) == NULL) {
		ok(0, "temporary directory");
		return;
	}
	snprintf(path, sizeof path, "%s/sock", dir);
	g.base = event_base_new();

	static const char chunked[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
				      "5\r\n{\"ID\"\r\n7\r\n:\"E1\"}\n\r\n0\r\n\r\n";
	for (size_t piece = 1; piece <= 7; piece += 3) {
		memset(&g.calls, 0, sizeof g - sizeof g.base);
		pid_t pid = serve_once(path, chunked, piece);
		ok(docker_get(g.base, path, "/info", on_response, &g) != NULL, "GET started");
		event_base_dispatch(g.base);
		waitpid(pid, NULL, 0);
		char desc[96];
		snprintf(desc, sizeof desc, "chunked body in %zu-byte pieces: one call, status 200, parsed", piece);
		ok(g.calls == 1 && g.status == 200 && strcmp(g.text, "E1") == 0, desc);
	}

	static const char lengthed[] = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{\"ID\":\"E2\"}";
	memset(&g.calls, 0, sizeof g - sizeof g.base);
	pid_t pid = serve_once(path, lengthed, 4);
	docker_get(g.base, path, "/info", on_response, &g);
	event_base_dispatch(g.base);
	waitpid(pid, NULL, 0);
	ok(g.calls == 1 && g.status == 200 && strcmp(g.text, "E2") == 0, "Content-Length body");

	static const char cut[] = "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{\"ID\":";
	memset(&g.calls, 0, sizeof g - sizeof g.base);
	pid = serve_once(path, cut, 100);
	docker_get(g.base, path, "/info", on_response, &g);
	event_base_dispatch(g.base);
	waitpid(pid, NULL, 0);
	ok(g.calls == 1 && g.status == -1 && strstr(g.text, "mid-response") != NULL, "a body cut short fails once");

	static const char stream[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				     "18\r\n{\"Action\":\"start\"}\n{\"Act\r\n"
				     "f\r\nion\":\"die\"}\n\n \n\r\n"
				     "14\r\n{\"Action\":\"destroy\"}\r\n"
				     "1\r\n\n\r\n";
	memset(&g.calls, 0, sizeof g - sizeof g.base);
	pid = serve_once(path, stream, 3);
	ok(docker_stream(g.base, path, "/events", on_opened, on_stream_event, on_closed, &g) != NULL, "stream started");
	event_base_dispatch(g.base);
	waitpid(pid, NULL, 0);
	is_str(g.text, "start;die;destroy;", "events split across chunks come out whole, in order");
	ok(g.closed == 1 && g.status == -1, "the stream's end is reported once");

	static const char refused[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}";
	memset(&g.calls, 0, sizeof g - sizeof g.base);
	pid = serve_once(path, refused, 100);
	docker_stream(g.base, path, "/events", on_opened, on_stream_event, on_closed, &g);
	event_base_dispatch(g.base);
	waitpid(pid, NULL, 0);
	ok(g.closed == 1 && g.status == 400, "a refused stream reports its status");

	unlink(path);
	ok(docker_get(g.base, path, "/info", on_response, &g) == NULL, "no socket: the GET does not start");

	char encoded[64];
	is_int(docker_url_encode("{\"a\":[1]}", encoded, sizeof encoded), 0, "url encoding");
	is_str(encoded, "%7B%22a%22%3A%5B1%5D%7D", "percent-encoded");
	event_base_free(g.base);
	rmdir(dir);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_labels();
	test_framing();
	return done_testing();
}
