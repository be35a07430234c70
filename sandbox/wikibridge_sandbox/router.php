<?php
/**
 * Router for PHP's built-in web server, one sandbox wiki per server.
 *
 * Started by sandbox/wikibridge_sandbox/servers.py as
 *   php -S 127.0.0.1:PORT -t /usr/share/mediawiki router.php
 * with MW_CONFIG_FILE naming the wiki's settings and WIKIBRIDGE_UPLOAD_DIR its
 * upload folder. The code tree is shared by all sandbox wikis, so uploads cannot
 * be served from the document root: each server maps /images/ to its own folder.
 */

$path = rawurldecode( parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH ) ?? '/' );
$docRoot = rtrim( $_SERVER['DOCUMENT_ROOT'], '/' );

// The entry points MediaWiki serves; every other PHP file in the tree is a library
// or a maintenance script and must not be reachable over HTTP.
$entryPoints = [
	'/index.php', '/api.php', '/load.php', '/rest.php', '/thumb.php',
	'/thumb_handler.php', '/img_auth.php', '/opensearch_desc.php',
];

/**
 * Answer with a plain-text status page and stop.
 */
function wikibridgeSandboxFail( int $code, string $text ): bool {
	http_response_code( $code );
	header( 'Content-Type: text/plain; charset=utf-8' );
	echo $text . "\n";
	return true;
}

if ( $path === '/images' || strpos( $path, '/images/' ) === 0 ) {
	$uploadDir = getenv( 'WIKIBRIDGE_UPLOAD_DIR' );
	if ( $uploadDir === false || $uploadDir === '' ) {
		return wikibridgeSandboxFail( 500, 'WIKIBRIDGE_UPLOAD_DIR is not set' );
	}
	$base = realpath( $uploadDir );
	$file = realpath( $uploadDir . substr( $path, strlen( '/images' ) ) );
	// realpath() resolves "..": refuse anything that leaves the upload folder.
	if ( $base === false || $file === false || !is_file( $file )
		|| strpos( $file, $base . '/' ) !== 0
	) {
		return wikibridgeSandboxFail( 404, 'No such file' );
	}
	$type = function_exists( 'mime_content_type' ) ? mime_content_type( $file ) : false;
	// Uploaded SVGs could carry scripts; serve them like Wikimedia does, inert.
	header( 'Content-Type: ' . ( $type ?: 'application/octet-stream' ) );
	header( 'Content-Length: ' . filesize( $file ) );
	header( "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'" );
	header( 'X-Content-Type-Options: nosniff' );
	if ( $_SERVER['REQUEST_METHOD'] !== 'HEAD' ) {
		readfile( $file );
	}
	return true;
}

if ( strpos( $path, '/wiki/' ) === 0 || $path === '/wiki' ) {
	// MediaWiki reads the title from REQUEST_URI through $wgArticlePath.
	$_SERVER['SCRIPT_NAME'] = '/index.php';
	$_SERVER['SCRIPT_FILENAME'] = $docRoot . '/index.php';
	$_SERVER['PHP_SELF'] = '/index.php';
	chdir( $docRoot );
	require $docRoot . '/index.php';
	return true;
}

if ( $path === '/' ) {
	// The built-in server would pick index.php itself; say so explicitly.
	return false;
}

foreach ( $entryPoints as $entry ) {
	// rest.php and friends take a path after the script name (PATH_INFO).
	if ( $path === $entry || strpos( $path, $entry . '/' ) === 0 ) {
		return false;
	}
}

if ( preg_match( '/\.php\d?$|\/\.|\.(inc|sqlite|json|md|phtml)$/i', $path ) ) {
	return wikibridgeSandboxFail( 404, 'Not found' );
}

// Static assets (skins, resources, extensions) come from the code tree.
if ( preg_match( '#^/(resources|skins|extensions)/#', $path ) && is_file( $docRoot . $path ) ) {
	return false;
}

return wikibridgeSandboxFail( 404, 'Not found' );
